"""Function-word lexicons: the closed-class words (articles, pronouns, prepositions, conjunctions,
auxiliaries) and the discourse markers of reasoning text ("wait", "donc", "also") of the languages
that most often share a script with a target in CoTs. A sentence run's words vote with these; the
vote decides when it is clear, and langdetect is asked only when it is not.

Lists are general vocabulary written for this module (not tuned on the held-out test pools).
Languages absent here (Italian, Dutch, ...) are still recognised through langdetect.
Words of one letter are left out: they are not units (see `scripts.py`).
"""

from __future__ import annotations

__all__ = ["COVERED", "LETTERS", "LEXICON", "MARKERS", "lookup"]

_WORDS: dict[str, str] = {
    "en": """
        the an and or but if then so of to in on at by for with from into onto about as than that this these
        those there here is are was were be been being am do does did done doing have has had having will would
        shall should can could may might must not no yes it its it's we us our you your he him his she her they
        them their what which who whom whose when where why how all any each every some such only also just very
        more most less least other another same both either neither nor because since while although though
        until unless after before over under between through during without within again once let let's me my
        mine i'm we're we've we'll don't doesn't isn't aren't can't won't that's there's what's it'll one two
        three first second next finally now well okay wait hmm alternatively actually maybe perhaps hence
        therefore thus however check get gives give need means mean see seems like right wrong answer
        compute calculate find value number equal equals sum total times plus minus divided result step
        """,
    "fr": """
        le la les un une des du de au aux en et ou mais donc or ni car si alors que qui quoi dont où ce cet cette ces
        il elle ils elles on nous vous je tu me te se lui leur leurs son sa ses mon ma mes ton ta tes notre nos
        votre vos est sont était étaient être été avoir ai as avons avez ont avait fait faire peut peuvent doit
        faut pas ne plus moins très aussi encore déjà bien comme dans sur sous avec sans pour par entre vers chez
        depuis pendant avant après ainsi puis ensuite enfin d'abord attends voyons bon donc cela ça c'est n'est
        qu'il qu'on s'il l'on j'ai d'un d'une lorsque quand parce puisque chaque tout tous toute toutes même
        autre autres deux trois premier première valeur nombre égal égale somme résultat réponse calculer
        vérifions vérifier soit sinon oui non peut-être
        """,
    "de": """
        der die das den dem des ein eine einen einem einer eines und oder aber denn doch also dann wenn ob dass
        weil da als wie was wer wo warum ich du er sie es wir ihr mich mir dich dir sich uns euch ihn ihm ihnen
        mein meine dein sein seine ihre unser ist sind war waren bin bist seid sein hat haben hatte hatten wird
        werden wurde würde kann können muss müssen soll sollte darf nicht kein keine keinen nur auch noch schon
        sehr mehr weniger mit ohne für von zu zum zur bei aus nach vor über unter zwischen durch gegen um auf
        im ins am vom beim hier dort jetzt nun so dieser diese dieses diesen jeder jede jedes alle alles man
        zuerst danach schließlich moment warte okay gut richtig also daher deshalb somit zwei drei erste
        zweite wert zahl gleich summe ergebnis antwort prüfen berechnen lass uns
        """,
    "es": """
        el la los las un una unos unas lo al del de y o pero sino entonces si que quien cual cuál qué cómo cuando
        donde dónde porque pues como ya yo tú él ella ellos ellas nosotros vosotros usted ustedes me te se nos
        os le les mi mis tu tus su sus nuestro nuestra es son era eran ser sido estar está están estaba hay
        haber ha han había tiene tienen tener puede pueden debe hace hacer no más menos muy también todavía aún
        con sin para por en entre sobre bajo hasta desde hacia durante antes después luego así este esta estos
        estas ese esa eso esto cada todo todos toda todas otro otra mismo misma primero segundo finalmente
        espera bueno vale veamos dos tres valor número igual suma resultado respuesta calcular comprobar
        verificar sí
        """,
    "pt": """
        o os a as um uma uns umas do da dos das no na nos nas ao aos pelo pela de em e ou mas então se que quem
        qual como quando onde porque pois já eu você ele ela eles elas nós vocês me te se lhe lhes meu minha seu
        sua nosso nossa é são era eram ser foi estar está estão estava há ter tem têm tinha pode podem deve fazer
        não mais menos muito também ainda com sem para por entre sobre sob até desde durante antes depois assim
        este esta isto esse essa isso cada todo todos toda todas outro outra mesmo primeiro segundo finalmente
        espere bem vamos dois três valor número igual soma resultado resposta calcular verificar sim
        """,
    "ru": """
        и а но или да же ли не ни что чтобы как так то это этот эта эти этого этой тот та те в во на с со к ко по
        о об от до из за для без при про через над под между у я ты он она оно мы вы они меня мне тебя его её
        ее ему ей нас нам вас вам их им мой моя моё мое наш наша свой своя который которая которые где когда
        почему если то тогда потому поэтому значит итак также тоже уже ещё еще только очень более менее все
        всё всех каждый есть был была было были быть будет будут может можно нужно надо нельзя должен сначала
        затем потом наконец подожди погоди хорошо ладно верно два три первый второй значение число равно
        сумма результат ответ вычислим проверим получаем давайте много после тому перед около всего
        """,
    "uk": """
        і й та але або що щоб як так це цей ця ці цього цієї той ті в у на з із зі до від для без при про через
        над під між я ти він вона воно ми ви вони мене мені тебе його її йому їй нас нам вас вам їх їм мій моя
        моє наш наша свій який яка які де коли чому якщо тоді тому отже також вже ще тільки дуже більш менш
        всі все кожен є був була було були бути буде може можна потрібно треба спочатку потім нарешті зачекай
        добре правильно два три перший другий значення число дорівнює сума результат відповідь перевіримо
        """,
    "bg": """
        и а но или да не ни че ще са съм си сме сте е бе беше бяха това тази този тези който която което които
        как какво където кога защо ако тогава затова значи също вече още само много повече по-малко всички
        всеки всяка всяко има няма може трябва в във на с със към по от до из за без при през над под между
        аз ти той тя то ние вие те мен мене ми теб те него му нея й нас ни вас ви тях им моят моята нашият
        първо после накрая добре чакай два три първият вторият стойност число равно сума резултат отговор
        """,
}

LETTERS: dict[str, dict[str, str]] = {
    "cyrillic": {"ru": "ыэё", "uk": "іїєґ", "mk": "ѓќѕљњџј"},
    "latin": {"de": "ß", "es": "ñ¿¡", "fr": "œ", "pt": "ãõ"},
}
"""Script -> language -> letters that, within the script's candidate languages, only that language uses.
Each occurrence is one vote (Russian ы/э/ё against Ukrainian і/ї/є/ґ decides most Cyrillic sentences)."""

COVERED: frozenset[str] = frozenset({"cyrillic"})
"""Scripts where every candidate language has a lexicon or exclusive letters here: a sentence run with
no evidence for any other language is the target's, with no model call (Latin is not covered: many
Latin-script languages have no lexicon, so there langdetect decides)."""

LEXICON: dict[str, frozenset[str]] = {lang: frozenset(words.split()) for lang, words in _WORDS.items()}
"""Language -> its function words and discourse markers (lowercase)."""

MARKERS: dict[str, tuple[str, ...]] = {}
"""Word -> the languages whose lexicon holds it, in a fixed order (used by the vote)."""
for _lang, _words in LEXICON.items():
    for _w in _words:
        MARKERS[_w] = (*MARKERS.get(_w, ()), _lang)


def lookup(word: str) -> tuple[str, ...]:
    """The languages whose lexicon holds `word` (lowercase), or ``()``.

    >>> lookup("donc")
    ('fr',)
    """
    return MARKERS.get(word, ())
