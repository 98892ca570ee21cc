"""The alerting service: configuration kept in memory and in the database, the evaluator task,
and what the REST routes call. Started by the daemon; the HTTP side reaches it through AppState.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
import trio

from monitord.alerts.delivery import ChannelHealth, DeliveryError, Target, send, serve_deliveries
from monitord.alerts.engine import AlertEngine, AlertItem, Changes, Notification, anchored_clock
from monitord.alerts.model import (
    Channel,
    InvalidAlertConfig,
    PairState,
    Rule,
    Silence,
    check_rule,
    check_silence,
)
from monitord.alerts.secrets import REDACTED, SecretBox, redact_url
from monitord.cache import LiveCache
from monitord.errors import StartupError
from monitord.storage import Storage, StorageError
from monitord.storage.alerts_sql import encode_body
from monitord.storage.base import AlertEventRow, AlertTable

log = logging.getLogger("monitord.alerts")
Config = TypeVar("Config", Channel, Rule, Silence)

EVALUATE_INTERVAL_SECONDS = 1.0
EXPIRE_INTERVAL_SECONDS = 3600.0


READ_ONLY_FIELDS = ("id", "failing", "lastError")


class NotFound(LookupError):
    pass


class InUse(ValueError):
    pass


def _apprise_problem(url: str) -> str | None:
    """Why Apprise cannot use `url`, or None when it can."""
    import apprise
    from apprise.manager_plugins import NotificationManager

    scheme = url.partition("://")[0].lower()
    # Apprise ships no type hints.
    if "://" not in url or scheme not in NotificationManager().schemas():  # type: ignore[no-untyped-call]
        return f"Apprise does not know the scheme {scheme!r}" if "://" in url else "expected scheme://..."
    if not apprise.Apprise().add(url):
        return f"Apprise cannot parse this {scheme}:// URL"
    return None


def check_channel(channel: Channel) -> None:
    if channel.kind == "webhook":
        if not channel.url.startswith(("http://", "https://")):
            raise InvalidAlertConfig("url", "a webhook URL starts with http:// or https://")
    else:
        problem = _apprise_problem(channel.url)
        if problem:
            raise InvalidAlertConfig("url", problem)
        if channel.secret:
            raise InvalidAlertConfig("secret", "only webhook channels take a secret")


def merge(current: Config, patch: bytes) -> Config:
    """`current` with the fields of the JSON object `patch` replaced; raises msgspec errors."""
    changes = msgspec.json.decode(patch, type=dict[str, Any])
    for read_only in READ_ONLY_FIELDS:  # what a GET adds: sending an object back unchanged works
        changes.pop(read_only, None)
    merged = msgspec.to_builtins(current)
    merged.update(changes)
    merged["id"] = current.id
    return msgspec.convert(merged, type=type(current))


class AlertService:
    """Channels, rules and silences; the engine that evaluates them; the channels' health."""

    def __init__(
        self,
        storage: Storage,
        cache: LiveCache,
        box: SecretBox,
        *,
        offline_grace_seconds: float,
        max_window_seconds: float,
        history_days: int,
        clock: Callable[[], int] | None = None,
        leads: Callable[[], bool] = lambda: True,
    ) -> None:
        """`leads()` says whether this daemon evaluates and delivers: always with one daemon;
        with replicas, only the holder of the maintenance lock (the others would notify again)."""
        self._storage = storage
        self._leads = leads
        self._cache = cache
        self._box = box
        self._clock = clock = clock or anchored_clock()
        self.max_window_seconds = max_window_seconds
        self._history_ms = history_days * 86_400_000
        self.engine = AlertEngine(clock, offline_grace_seconds=offline_grace_seconds)
        self.channels: dict[int, Channel] = {}
        self.rules: dict[int, Rule] = {}
        self.silences: dict[int, Silence] = {}
        self.health = ChannelHealth()
        self._wake = trio.Event()
        self._unsaved = Changes()
        # Another replica (the leader) saved pair states: re-read them before the next tick.
        self._states_stale = False

    # --- start -----------------------------------------------------------------------------
    async def load(self) -> None:
        """Read the configuration, the persisted pair states (their alerts go into the cache) and
        which channels were failing.

        Raises StartupError when a channel cannot be decrypted (data_dir/alerts.key changed).
        """
        await self._read_config(strict=True)
        await self._read_states()
        self._unsaved = self.engine.set_rules(self.rules.values())
        self._show_active_alerts()
        self.health.restore(await self._storage.last_alert_delivery_outcomes())

    async def reload_config(self) -> None:
        """Re-read channels, rules and silences after another replica changed one (issue 19).
        Raises StorageError."""
        await self._read_config(strict=False)
        await self._commit(self.engine.set_rules(self.rules.values()))
        self._show_active_alerts()  # a renamed rule shows under its new name

    def states_changed_elsewhere(self) -> None:
        """The leader saved pair states: a follower re-reads them before its next tick."""
        self._states_stale = True

    async def _read_config(self, *, strict: bool) -> None:
        channels: dict[int, Channel] = {}
        for config_id, body in await self._storage.list_alert_config(AlertTable.CHANNELS):
            sealed = msgspec.json.decode(body, type=Channel)
            try:
                channels[config_id] = msgspec.structs.replace(
                    sealed,
                    id=config_id,
                    url=self._box.open(sealed.url),
                    secret=self._box.open(sealed.secret) if sealed.secret else None,
                )
            except ValueError as exc:
                if strict:
                    raise StartupError(f"alert channel {config_id}: {exc}") from None
                log.warning("alert channel %d left out: %s", config_id, exc)
        rules = {
            config_id: msgspec.structs.replace(msgspec.json.decode(body, type=Rule), id=config_id)
            for config_id, body in await self._storage.list_alert_config(AlertTable.RULES)
        }
        silences = {
            config_id: msgspec.structs.replace(msgspec.json.decode(body, type=Silence), id=config_id)
            for config_id, body in await self._storage.list_alert_config(AlertTable.SILENCES)
        }
        self.channels, self.rules, self.silences = channels, rules, silences
        self.engine.silences = list(silences.values())

    async def _read_states(self) -> None:
        self.engine.load_states(
            ((rule_id, server_id), msgspec.json.decode(body, type=PairState))
            for rule_id, server_id, body in await self._storage.list_alert_states()
        )

    def _show_active_alerts(self) -> None:
        """Make every server's activeAlerts in the cache agree with the engine's pair states."""
        for server_id, alerts in self.engine.active_alerts({view.id for view in self._cache.servers()}).items():
            self._cache.set_active_alerts(server_id, alerts)

    # --- channels --------------------------------------------------------------------------
    def target(self, channel_id: int) -> Target | None:
        channel = self.channels.get(channel_id)
        if channel is None:
            return None
        return Target(channel.id, channel.name, channel.kind, channel.url, channel.secret, channel.language)

    def redacted(self, channel: Channel) -> Channel:
        return msgspec.structs.replace(
            channel, url=redact_url(channel.url), secret=REDACTED if channel.secret else None
        )

    def _sealed(self, channel: Channel) -> str:
        return encode_body(
            msgspec.structs.replace(
                channel,
                url=self._box.seal(channel.url),
                secret=self._box.seal(channel.secret) if channel.secret else None,
            )
        )

    async def create_channel(self, channel: Channel) -> Channel:
        check_channel(channel)
        channel_id = await self._storage.create_alert_config(AlertTable.CHANNELS, self._sealed(channel))
        channel = self.channels[channel_id] = msgspec.structs.replace(channel, id=channel_id)
        return channel

    async def update_channel(self, channel_id: int, patch: bytes) -> Channel:
        current = self._get(self.channels, channel_id)
        channel = merge(current, patch)
        # A redacted value sent back means "unchanged".
        if channel.url == redact_url(current.url):
            channel = msgspec.structs.replace(channel, url=current.url)
        if channel.secret == REDACTED:
            channel = msgspec.structs.replace(channel, secret=current.secret)
        check_channel(channel)
        await self._storage.update_alert_config(AlertTable.CHANNELS, channel_id, self._sealed(channel))
        self.channels[channel_id] = channel
        return channel

    async def delete_channel(self, channel_id: int) -> None:
        self._get(self.channels, channel_id)
        users = [rule.name for rule in self.rules.values() if channel_id in rule.channel_ids]
        if users:
            raise InUse(f"the channel is used by the rule {users[0]!r}; remove it there first")
        await self._storage.delete_alert_config(AlertTable.CHANNELS, channel_id)
        del self.channels[channel_id]
        self.health.record(channel_id, None)

    async def test_channel(self, channel_id: int) -> str | None:
        """Send a test message now; None on success, else the error class (never a body)."""
        target = self.target(channel_id)
        if target is None:
            raise NotFound("no such channel")
        note = Notification(kind="test", rule_id=0, rule_name="monitord test", rule_kind="test", metric="", alerts=[])
        note.alerts.append(
            AlertItem(
                server_id=0, server_name="monitord", status="firing", level=None, value=None, starts_at_ms=self._clock()
            )
        )
        try:
            await send(target, note)
        except DeliveryError as exc:
            return str(exc)
        except trio.TooSlowError:
            return "timeout"
        return None

    # --- rules -----------------------------------------------------------------------------
    def _check_rule(self, rule: Rule) -> None:
        check_rule(rule, max_window_seconds=self.max_window_seconds, channel_ids=set(self.channels))

    async def create_rule(self, rule: Rule) -> Rule:
        self._check_rule(rule)
        rule_id = await self._storage.create_alert_config(AlertTable.RULES, encode_body(rule))
        rule = self.rules[rule_id] = msgspec.structs.replace(rule, id=rule_id)
        await self._rules_changed()
        return rule

    async def update_rule(self, rule_id: int, patch: bytes) -> Rule:
        rule = merge(self._get(self.rules, rule_id), patch)
        self._check_rule(rule)
        await self._storage.update_alert_config(AlertTable.RULES, rule_id, encode_body(rule))
        self.rules[rule_id] = rule
        await self._rules_changed()
        return rule

    async def delete_rule(self, rule_id: int) -> None:
        self._get(self.rules, rule_id)
        await self._storage.delete_alert_config(AlertTable.RULES, rule_id)
        del self.rules[rule_id]
        await self._rules_changed()

    async def _rules_changed(self) -> None:
        await self._commit(self.engine.set_rules(self.rules.values()))

    # --- silences --------------------------------------------------------------------------
    async def create_silence(self, silence: Silence) -> Silence:
        check_silence(silence)
        silence_id = await self._storage.create_alert_config(AlertTable.SILENCES, encode_body(silence))
        silence = self.silences[silence_id] = msgspec.structs.replace(silence, id=silence_id)
        self.engine.silences = list(self.silences.values())
        return silence

    async def delete_silence(self, silence_id: int) -> None:
        self._get(self.silences, silence_id)
        await self._storage.delete_alert_config(AlertTable.SILENCES, silence_id)
        del self.silences[silence_id]
        self.engine.silences = list(self.silences.values())

    @staticmethod
    def _get(configs: dict[int, Config], config_id: int) -> Config:
        try:
            return configs[config_id]
        except KeyError:
            raise NotFound("no such id") from None

    # --- tasks -----------------------------------------------------------------------------
    async def evaluate_once(self) -> None:
        """One evaluation: state changes, history and queued messages stored together."""
        await self._commit(self.engine.evaluate(self._cache.servers()))

    async def _commit(self, changes: Changes) -> None:
        if not self._leads():
            # A follower replica shows what its configuration changes mean at once; the leader
            # hears of them, applies the same changes and saves them (and their messages).
            if changes.servers:
                for server_id, alerts in self.engine.active_alerts(changes.servers).items():
                    self._cache.set_active_alerts(server_id, alerts)
            return
        unsaved = self._unsaved
        unsaved.states.update(changes.states)
        unsaved.events.extend(changes.events)
        unsaved.notifications.extend(changes.notifications)
        if changes.servers:
            for server_id, alerts in self.engine.active_alerts(changes.servers).items():
                self._cache.set_active_alerts(server_id, alerts)
        if not (unsaved.states or unsaved.events or unsaved.notifications):
            return
        now = self._clock()
        deliveries = [
            (channel_id, now, encode_body(note))
            for channel_ids, note in unsaved.notifications
            for channel_id in channel_ids
            if channel_id in self.channels
        ]
        events = [
            AlertEventRow(
                time_ms=e.time_ms,
                kind="suppressed" if e.suppressed else "transition",
                rule_id=e.rule_id,
                server_id=e.server_id,
                from_phase=e.from_phase,
                to_phase=e.to_phase,
                level=e.level,
                value=e.value,
            )
            for e in unsaved.events
        ]
        states = [(r, s, None if st is None else encode_body(st)) for (r, s), st in unsaved.states.items()]
        try:
            await self._storage.save_alert_changes(states, events, deliveries, now_ms=now)
        except StorageError as exc:
            # Kept and saved with the next evaluation: nothing is lost while the database is away.
            log.warning("alert state not saved yet (%d changes): %s", len(states) + len(events), exc)
            return
        self._unsaved = Changes()
        if deliveries:
            self._wake.set()
            self._wake = trio.Event()

    async def run_evaluator(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Evaluate every rule once a second; hourly, expire old history and forget deleted
        servers' states. Runs until cancelled.

        Only while this daemon leads: a follower replica re-reads the states the leader saved
        instead, and one that becomes the leader starts from them (no alert is sent again)."""
        task_status.started()
        next_expiry = trio.current_time() + EXPIRE_INTERVAL_SECONDS
        next_at = trio.current_time()
        leading = self._leads()
        while True:
            # On a fixed grid: the time an evaluation takes does not stretch the interval.
            next_at = max(next_at + EVALUATE_INTERVAL_SECONDS, trio.current_time())
            await trio.sleep_until(next_at)
            if not self._leads():
                leading = False
                await self._follow_states()
                continue
            if not leading:
                if not await self._take_over():
                    continue
                leading = True
            await self.evaluate_once()
            if trio.current_time() >= next_expiry:
                next_expiry += EXPIRE_INTERVAL_SECONDS
                await self._commit(self.engine.forget_servers_except({view.id for view in self._cache.servers()}))
                try:
                    await self._storage.expire_alert_history(self._clock() - self._history_ms, max_rows=10_000)
                except StorageError as exc:
                    log.warning("alert history not expired: %s", exc)

    async def _follow_states(self) -> None:
        if not self._states_stale:
            return
        self._states_stale = False
        try:
            await self._read_states()
        except StorageError as exc:
            self._states_stale = True
            log.warning("alert states of the leading replica not read yet: %s", exc)
            return
        self._show_active_alerts()

    async def _take_over(self) -> bool:
        """Become the evaluating replica: start from the states the last leader saved, and hold
        offline rules for a grace period while its agents reconnect here. False when the
        database cannot be read (tried again next tick)."""
        try:
            await self._read_config(strict=False)
            await self._read_states()
        except StorageError as exc:
            log.warning("cannot take over alert evaluation yet: %s", exc)
            return False
        self._states_stale = False
        self._unsaved = self.engine.set_rules(self.rules.values())
        self.engine.begin_grace()
        self._show_active_alerts()
        log.info("this replica evaluates alerts and sends their messages now")
        return True

    async def run_deliveries(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Send the outbox as it falls due (see alerts/delivery.py) while this daemon leads,
        until cancelled."""
        task_status.started()
        while True:
            while not self._leads():  # noqa: ASYNC110  # a flag the replica's heartbeat sets
                await trio.sleep(EVALUATE_INTERVAL_SECONDS)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._stop_when_not_leading, nursery.cancel_scope)
                await nursery.start(
                    serve_deliveries, self._storage, self.target, self.health, lambda: self._wake, self._clock
                )

    async def _stop_when_not_leading(self, cancel_scope: trio.CancelScope) -> None:
        while self._leads():  # noqa: ASYNC110  # a flag the replica's heartbeat clears
            await trio.sleep(EVALUATE_INTERVAL_SECONDS)
        cancel_scope.cancel()
