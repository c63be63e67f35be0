"""Text helpers shared by the shaping rewards: the R1 tags and the chain-of-thought splitter.

An R1-style completion is ``<think> reasoning </think> answer``; chat templates of served R1 models
(and of Qwen3 in thinking mode) often put ``<think>`` in the *prompt*, so the completion starts
inside the think block and holds only ``reasoning </think> answer``. `split_think` handles both.
"""

from __future__ import annotations

__all__ = ["ANSWER_CLOSE", "ANSWER_OPEN", "THINK_CLOSE", "THINK_OPEN", "split_think"]

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
ANSWER_OPEN = "<answer>"
ANSWER_CLOSE = "</answer>"


def split_think(completion: str, *, think_prefilled: bool = False) -> tuple[str | None, str]:
    """Split a completion into its chain of thought and what follows the think block.

    Rules (lenient on purpose: this extracts text, it does not judge the format; see `verifiers.format`):

    - ``think_prefilled=False``: the think block opens at the first ``<think>``. Text before it is
      dropped. Without any ``<think>`` there is no think block: ``(None, completion)``.
    - ``think_prefilled=True``: the chat template already emitted ``<think>``, so the think block
      opens at the start of the completion.
    - The block closes at the first ``</think>`` after it opened; the rest is everything after that tag.
    - An unclosed block (a truncated completion) is all chain of thought: ``(cot, "")``.

    Args:
        completion: the model's text.
        think_prefilled: True when the prompt already ends with ``<think>``.

    Returns:
        ``(cot, rest)``: the text inside the think block (not stripped; None when there is no think
        block) and the text after ``</think>`` (not stripped; the whole completion when cot is None).

    >>> split_think("<think>2+2=4</think> 4")
    ('2+2=4', ' 4')
    >>> split_think("2+2=4</think>4", think_prefilled=True)
    ('2+2=4', '4')
    >>> split_think("The answer is 4")
    (None, 'The answer is 4')
    >>> split_think("<think>still thinking")
    ('still thinking', '')
    """
    if think_prefilled:
        start = 0
    else:
        opened = completion.find(THINK_OPEN)
        if opened < 0:
            return None, completion
        start = opened + len(THINK_OPEN)
    closed = completion.find(THINK_CLOSE, start)
    if closed < 0:
        return completion[start:], ""
    return completion[start:closed], completion[closed + len(THINK_CLOSE) :]
