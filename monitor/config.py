"""The config: YAML, ``${VAR}`` expansion, ``MONITOR_*`` overrides, pydantic validation.

Load order (STYLE §3): YAML ``safe_load`` → ``${VAR}``/``${VAR:-default}`` expansion in every
string → documented ``MONITOR_*`` overrides → validation (unknown keys are errors) → paths
resolved relative to the config file's folder. Every failure is a ``ConfigError`` naming the file
and the key path; the CLI turns it into exit status 2.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.errors import ConfigError
from monitor.model import DEDUPE_WINDOW
from monitor.policy import PollPolicy

DEFAULT_CONFIG = Path("config/monitor.yaml")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}
_LOCATED = re.compile(r"^([\w.\[\]]+): (.*)$", re.DOTALL)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def parse_duration(value: Any) -> float:
    """``90s``, ``15m``, ``2h``, ``3d`` (or a number of seconds) → seconds; raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("a duration is written like 90s, 15m, 2h or 3d")  # noqa: TRY004 - pydantic
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return float(m.group(1)) * _UNITS[m.group(2)]
    raise ValueError(f"bad duration {value!r}: write it like 90s, 15m, 2h or 3d")


Duration = Annotated[float, BeforeValidator(parse_duration)]


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"bad URL {value!r}: an http:// or https:// URL is needed")
    return value


HttpUrl = Annotated[str, BeforeValidator(lambda v: _check_http_url(str(v)))]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Model):
    url: str = "sqlite:///monitor.db"
    pool_size: int = 5
    echo: bool = False


class FeedConfig(_Model):
    name: str = Field(min_length=1)
    url: HttpUrl
    interval: Duration | None = None
    language: str | None = None
    enabled: bool = True
    outlet: str | None = None          # publisher name, for collapsing syndicated copies
    watchlists: list[str] = Field(default_factory=list)  # watchlists this feed covers (health)


class FetchConfig(_Model):
    user_agent: str = "monitor/0.1 (news milestone monitor; +https://example.org/monitor)"
    connect_timeout: Duration = 10.0
    read_timeout: Duration = 20.0
    total_timeout: Duration = 60.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_connections: int = 20
    per_host_connections: int = 2
    per_host_min_gap: Duration = 1.0
    max_redirects: int = 5
    allow_private_networks: bool = False


class ScheduleConfig(_Model):
    default_interval: Duration = 900.0
    tick: Duration = 5.0                  # how often due feeds are claimed
    jitter: float = Field(default=PollPolicy.jitter, ge=0, le=0.5)
    lease: Duration = 300.0               # a claimed feed is someone else's after this
    max_backoff: Duration = PollPolicy.max_backoff  # slow retry of an unhealthy feed
    unhealthy_after: int = PollPolicy.unhealthy_after  # consecutive failures
    force_unconditional_every: Duration = PollPolicy.force_unconditional_every
    batch_size: int = 40                  # feeds claimed together (up to x3 when nothing is new)
    keep_fetch_attempts: Duration = 30 * 86400.0  # poll history kept for `monitor feeds`; 0: all
    parse_workers: Annotated[int, Field(ge=0)] | Literal["auto"] = "auto"  # processes parsing+classifying; 0: in-process


class AlertingConfig(_Model):
    max_item_age: Duration = 72 * 3600.0  # 0 turns the gate off
    dedupe_window: Duration = DEDUPE_WINDOW
    dedupe_windows: dict[str, Duration] = Field(default_factory=dict)  # per milestone type
    min_sources: int = 1                  # confirmation: distinct sources before alerting
    realert_on_status: list[str] = Field(default_factory=list)  # e.g. [completed]
    max_attempts: int = 8
    retry_base: Duration = 30.0
    retry_max: Duration = 3600.0
    feed_silence: Duration = 0.0          # 0: feed silence is not an alert; else after this long


Severity = Literal["low", "medium", "high", "critical"]
Event = Literal["milestone", "feed_health", "digest"]
EVENTS: tuple[Event, ...] = ("milestone", "feed_health", "digest")


class _ChannelBase(_Model):
    name: str = Field(min_length=1)
    watchlists: list[str] = Field(default_factory=list)   # empty: all
    types: list[str] = Field(default_factory=list)        # empty: all milestone types
    min_severity: Severity = "low"
    mode: Literal["immediate", "digest"] = "immediate"
    digest_every: Duration = 86400.0
    events: list[Event] = Field(default_factory=lambda: list(EVENTS))
    enabled: bool = True


class WebhookChannel(_ChannelBase):
    type: Literal["webhook"]
    url: HttpUrl
    secret: str | None = None
    format: Literal["monitor", "slack", "discord", "telegram"] = "monitor"
    chat_id: str | None = None            # telegram
    timeout: Duration = 10.0
    headers: dict[str, str] = Field(default_factory=dict)


class EmailChannel(_ChannelBase):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    type: Literal["email"]
    host: str
    port: int = 587
    starttls: bool = False
    tls: bool = False
    username: str | None = None
    password: str | None = None
    from_: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
    subject_prefix: str = "[monitor]"
    timeout: Duration = 30.0


class ConsoleChannel(_ChannelBase):
    type: Literal["console"]


Channel = Annotated[WebhookChannel | EmailChannel | ConsoleChannel, Field(discriminator="type")]


class AlertsConfig(_Model):
    channels: list[Channel] = Field(default_factory=list)


class HttpConfig(_Model):
    listen: str = "127.0.0.1:8080"
    token: str | None = None
    username: str | None = None
    password: str | None = None

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        host, sep, port = v.rpartition(":")
        if not sep or not port.isdigit() or not host:
            raise ValueError(f"bad listen address {v!r}: write it as HOST:PORT")
        return v


class LogConfig(_Model):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class Config(_Model):
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    feeds: list[FeedConfig] = Field(default_factory=list)
    watchlists: list[str] = Field(default_factory=list)
    fetch: FetchConfig = Field(default_factory=FetchConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    alerting: AlertingConfig = Field(default_factory=AlertingConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    log: LogConfig = Field(default_factory=LogConfig)

    # set by load_config, not by the file
    source: str | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        for what, names in (("feeds", [f.name for f in self.feeds]),
                            ("alerts.channels", [c.name for c in self.alerts.channels])):
            seen: set[str] = set()
            for i, name in enumerate(names):
                if name in seen:
                    raise ValueError(f"{what}[{i}].name: duplicate name {name!r}")
                seen.add(name)
        return self

    def feed_interval(self, feed: FeedConfig) -> float:
        return feed.interval if feed.interval is not None else self.schedule.default_interval


def expand_env(value: Any, env: Mapping[str, str], path: str = "") -> Any:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string; raises ValueError naming the key."""
    if isinstance(value, dict):
        return {k: expand_env(v, env, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, env, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str):
        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise _MissingVar(path, name)
        return _VAR.sub(repl, value)
    return value


class _MissingVar(Exception):
    def __init__(self, path: str, name: str) -> None:
        self.path, self.name = path, name


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("webhook", "email", "console") and out.endswith("]"):
            continue  # discriminated-union tag pydantic adds to the location
        else:
            out += f".{part}" if out else str(part)
    return out


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read, expand, override, validate and resolve a config file; raises ConfigError."""
    env = os.environ if env is None else env
    file = Path(path) if path else Path(env.get("MONITOR_CONFIG") or DEFAULT_CONFIG)
    name = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(name, None, "config file not found") from None
    except OSError as exc:
        raise ConfigError(name, None, f"cannot read: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(name, None, f"not valid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(name, None, "the top level must be a mapping of keys")
    try:
        data = expand_env(data, env)
    except _MissingVar as exc:
        raise ConfigError(name, exc.path,
                          f"environment variable {exc.name} is not set and has no default") from None
    if env.get("MONITOR_DATABASE_URL"):
        data.setdefault("database", {})
        if isinstance(data["database"], dict):
            data["database"]["url"] = env["MONITOR_DATABASE_URL"]
    for var, key in (("MONITOR_HTTP_LISTEN", "listen"), ("MONITOR_HTTP_TOKEN", "token")):
        if env.get(var):
            data.setdefault("http", {})
            if isinstance(data["http"], dict):
                data["http"][key] = env[var]
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        key = _key_path(tuple(err["loc"]))
        located = _LOCATED.match(msg)
        if not key and located:  # a model-level check names its own key path
            key, msg = located.group(1), located.group(2)
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        more = f" (and {len(exc.errors()) - 1} more errors)" if len(exc.errors()) > 1 else ""
        raise ConfigError(name, key or None, msg + more) from None
    base = file.resolve().parent
    resolved = []
    for i, p in enumerate(config.watchlists):
        wp = Path(p)
        wp = wp if wp.is_absolute() else base / wp
        if not wp.is_file():
            raise ConfigError(name, f"watchlists[{i}]", f"watchlist file not found: {wp}")
        resolved.append(str(wp))
    # (a relative SQLite path stays relative to the working directory, as SQLAlchemy reads
    # it: ``sqlite:///monitor.db`` is where the user runs the daemon)
    return config.model_copy(update={"watchlists": resolved, "source": name})


def redact(config: Config) -> dict[str, Any]:
    """The config as a dict with every secret replaced, for ``check-config`` and logs."""
    data = config.model_dump(by_alias=True)
    for ch in data.get("alerts", {}).get("channels", []):
        for key in ("secret", "password", "username"):
            if ch.get(key):
                ch[key] = "***"
    http = data.get("http", {})
    for key in ("token", "password"):
        if http.get(key):
            http[key] = "***"
    data["database"]["url"] = redact_url(data["database"]["url"])
    return data


def redact_url(url: str) -> str:
    """Hide a password in a URL such as ``postgresql://user:pw@host/db``."""
    return re.sub(r"(://[^:/@]+:)[^@]+@", r"\1***@", url)
