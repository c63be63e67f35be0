"""Name -> reward. Built-ins register by decorator; third-party rewards come from an entry-point group.

A third-party distribution declares, in its ``pyproject.toml``::

    [project.entry-points."r1_verifiers.rewards"]
    my_reward = "my_pkg.rewards:MyReward"     # a `Reward` subclass

The group is read once, on the first lookup that needs it, and a plugin's module is imported
only when that plugin is asked for. Built-in modules are imported on first lookup too, so
``import verifiers`` stays light.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from verifiers.errors import ConfigError, DuplicateRewardError, UnknownRewardError
from verifiers.types import Reward

__all__ = ["ENTRY_POINT_GROUP", "REGISTRY", "Registry", "RewardSpec", "create", "get", "names", "register"]

ENTRY_POINT_GROUP = "r1_verifiers.rewards"
DISTRIBUTION = "r1-verifiers"
BUILTIN_MODULES = (
    "verifiers.format",
    "verifiers.length",
    "verifiers.repetition",
    "verifiers.language",
    "verifiers.math",
    "verifiers.code",
)

R = TypeVar("R", bound=type[Reward])


@dataclass(frozen=True)
class RewardSpec:
    """A registered reward: its name, class, one-line description and where it came from."""

    name: str
    cls: type[Reward]
    source: str
    """Distribution that provides it ("r1-verifiers" for built-ins), or "<module>" for local registrations."""

    @property
    def description(self) -> str:
        doc = inspect.getdoc(self.cls) or ""
        return doc.strip().splitlines()[0] if doc.strip() else "(no description)"

    def parameters(self) -> dict[str, inspect.Parameter]:
        """The keyword parameters the reward's constructor accepts."""
        if self.cls.__init__ is object.__init__:
            return {}
        sig = inspect.signature(self.cls.__init__)
        skip = (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
        return {n: p for n, p in sig.parameters.items() if n != "self" and p.kind not in skip}

    def describe_parameters(self) -> list[str]:
        out = []
        for name, p in self.parameters().items():
            ann = p.annotation if isinstance(p.annotation, str) else getattr(p.annotation, "__name__", "")
            default = "" if p.default is p.empty else f" = {p.default!r}"
            out.append(f"{name}: {ann}{default}" if ann else f"{name}{default}")
        return out


class Registry:
    """A mapping of reward names to `RewardSpec`s. Build a fresh one in tests; the package uses `REGISTRY`.

    Args:
        builtin_modules: modules imported on first lookup; they register into this registry.
        entry_point_group: the entry-point group scanned (once) for third-party rewards; None disables it.
    """

    def __init__(
        self, *, builtin_modules: Iterable[str] = (), entry_point_group: str | None = ENTRY_POINT_GROUP
    ) -> None:
        self._specs: dict[str, RewardSpec] = {}
        self._plugins: dict[str, Any] = {}  # name -> importlib.metadata.EntryPoint, loaded lazily
        self._builtin_modules = tuple(builtin_modules)
        self._entry_point_group = entry_point_group
        self._builtins_loaded = False
        self._plugins_scanned = False
        self._lock = threading.RLock()

    # -- registration -------------------------------------------------------------------------
    def register(self, name: str | None = None, *, source: str | None = None) -> Callable[[R], R]:
        """Class decorator: ``@registry.register("format")`` adds a `Reward` subclass under `name`."""

        def decorate(cls: R) -> R:
            self.add(cls, name=name, source=source)
            return cls

        return decorate

    def add(self, cls: type[Reward], *, name: str | None = None, source: str | None = None) -> RewardSpec:
        """Register `cls` under `name` (default: ``cls.name``). A name taken by another class fails."""
        if not (isinstance(cls, type) and issubclass(cls, Reward)):
            raise ConfigError(f"only Reward subclasses can be registered, got {cls!r}")
        key = name or cls.name
        if not key or not key.replace("_", "").isalnum():
            raise ConfigError(f"reward name must be a non-empty identifier, got {key!r} for {cls.__qualname__}")
        if source is None:
            source = DISTRIBUTION if cls.__module__.split(".")[0] == "verifiers" else cls.__module__
        with self._lock:
            old = self._specs.get(key)
            if old is not None and old.cls is not cls:
                raise DuplicateRewardError(
                    f"reward name {key!r} is registered twice: {_where(old.cls)} (from {old.source}) and "
                    f"{_where(cls)} (from {source}); rename one of them"
                )
            if key in self._plugins and source != self._plugin_source(key):
                raise DuplicateRewardError(
                    f"reward name {key!r} is registered by {_where(cls)} (from {source}) and by the "
                    f"entry point {self._plugins[key].value} (from {self._plugin_source(key)}); rename one"
                )
            cls.name = key
            spec = RewardSpec(key, cls, source)
            self._specs[key] = spec
            return spec

    # -- lookup -------------------------------------------------------------------------------
    def get(self, name: str) -> RewardSpec:
        """The spec registered under `name`; an unknown name raises with close matches listed."""
        self._load_builtins()
        spec = self._specs.get(name)
        if spec is not None:
            return spec
        self._scan_plugins()
        if name in self._plugins:
            return self._load_plugin(name)
        valid = sorted(set(self._specs) | set(self._plugins))
        close = difflib.get_close_matches(name, valid, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownRewardError(name, f"no reward named {name!r}.{hint} Valid names: {', '.join(valid)}")

    def create(self, name: str, **params: Any) -> Reward:
        """Instantiate the reward `name` with `params`, validated against its constructor's signature."""
        spec = self.get(name)
        accepted = spec.parameters()
        unknown = sorted(set(params) - set(accepted))
        if unknown:
            raise ConfigError(
                f"reward {name!r} got unknown parameter(s) {unknown}; it accepts: "
                f"{', '.join(spec.describe_parameters()) or '(no parameters)'}"
            )
        missing = [n for n, p in accepted.items() if p.default is p.empty and n not in params]
        if missing:
            raise ConfigError(f"reward {name!r} needs parameter(s) {missing}")
        try:
            return spec.cls(**params)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"reward {name!r}: bad parameters {params!r}: {exc}") from exc

    def names(self) -> list[str]:
        """Every registered name, built-ins and plugins, sorted."""
        self._load_builtins()
        self._scan_plugins()
        return sorted(set(self._specs) | set(self._plugins))

    def specs(self) -> list[RewardSpec]:
        """Every spec (loads every plugin)."""
        return [self.get(n) for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    # -- lazy loading -------------------------------------------------------------------------
    def _load_builtins(self) -> None:
        if self._builtins_loaded:
            return
        with self._lock:
            if self._builtins_loaded:
                return
            self._builtins_loaded = True
            for module in self._builtin_modules:
                try:
                    importlib.import_module(module)
                except ModuleNotFoundError as exc:
                    if exc.name != module:  # a real missing dependency inside the module
                        raise
                    # a built-in family not present in this build (e.g. still being written)

    def _scan_plugins(self) -> None:
        if self._plugins_scanned or self._entry_point_group is None:
            return
        with self._lock:
            if self._plugins_scanned:
                return
            from importlib.metadata import entry_points

            found: dict[str, Any] = {}
            for ep in entry_points(group=self._entry_point_group):
                other = found.get(ep.name)
                if other is not None and other.value != ep.value:
                    raise DuplicateRewardError(
                        f"reward name {ep.name!r} is declared by two entry points: {other.value} "
                        f"(from {_dist(other)}) and {ep.value} (from {_dist(ep)}); uninstall or rename one"
                    )
                found[ep.name] = ep
            for key, ep in found.items():
                spec = self._specs.get(key)
                if spec is not None and f"{spec.cls.__module__}:{spec.cls.__qualname__}" != ep.value:
                    raise DuplicateRewardError(
                        f"reward name {key!r} is registered by {_where(spec.cls)} (from {spec.source}) and "
                        f"declared by the entry point {ep.value} (from {_dist(ep)}); rename one"
                    )
            self._plugins = {k: ep for k, ep in found.items() if k not in self._specs}
            self._plugins_scanned = True

    def _plugin_source(self, name: str) -> str:
        return _dist(self._plugins[name])

    def _load_plugin(self, name: str) -> RewardSpec:
        with self._lock:
            if name in self._specs:
                return self._specs[name]
            ep = self._plugins[name]
            obj = ep.load()
            if not (isinstance(obj, type) and issubclass(obj, Reward)):
                raise ConfigError(
                    f"entry point {name} = {ep.value} (from {_dist(ep)}) must name a verifiers.Reward "
                    f"subclass, got {obj!r}"
                )
            source = _dist(ep)
            del self._plugins[name]
            return self.add(obj, name=name, source=source)


def _where(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _dist(ep: Any) -> str:
    dist = getattr(ep, "dist", None)
    return getattr(dist, "name", None) or "<unknown distribution>"


REGISTRY = Registry(builtin_modules=BUILTIN_MODULES)
"""The process-wide registry that built-ins and plugins live in."""

register = REGISTRY.register
get = REGISTRY.get
create = REGISTRY.create
names = REGISTRY.names


def build(name: str, params: Mapping[str, Any] | None = None, *, registry: Registry | None = None) -> Reward:
    """`create` with a params mapping, on `registry` (default: the package registry)."""
    return (registry or REGISTRY).create(name, **dict(params or {}))
