"""The synthetic city of the event recommendation miniature, and its features.

Users live somewhere, like some topics, travel so far, are free at some times and
mind prices to a degree; hosts have a hidden quality and a home venue; events are
created every week, each with a topic, a venue, a time slot and a price, and they
vanish once they have happened. A user registers with a probability set by a hidden
utility that no model sees. The features are what a platform can know at the moment
it ranks: distances, and profiles built from the registrations before a cut-off.

Imported by ``snippets.problems.event_recommendation``, which runs the experiment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snippets.concepts.classification_metrics import sigmoid

TOPICS = 8  # music, tech, sport, food, arts, ...
SLOTS = ("weekday day", "weekday evening", "weekend day", "weekend evening")
WEEKS = 10  # weeks 0-5: history; 6-7: label window for training; 8-9: new events
TRAIN_CUT, TEST_CUT = 6, 8  # features use the weeks before the cut, labels after
RADIUS_KM = 30.0  # hard filter: candidates start in the window and lie this close
FRIENDS = 8  # per user, chosen among the 40 nearest users (friends live nearby)
SOCIAL_CAP = 3  # more than three friends going adds nothing more
# How each hidden cause moves the log-odds of registering (the world, unseen by
# any model): quality of the host's events, taste for the topic, distance in units
# of the user's own travel tolerance, free time, price and friends going.
TRUTH = {
    "intercept": -1.7,
    "quality": 1.0,
    "topic_taste": 1.0,
    "distance_over_tolerance": -1.0,
    "log_availability": 1.0,
    "price_sensitivity": -0.5,
    "friends_going": 0.6,
}
EARLY_SHARE = 0.4  # share of interested users who registered before ranking time


@dataclass(frozen=True)
class World:
    """One seeded city: users, hosts, events, hidden causes and registrations."""

    home: np.ndarray  # (users, 2) km
    friends: np.ndarray  # (users, FRIENDS) user ids
    event_week: np.ndarray  # (events,)
    event_topic: np.ndarray
    event_slot: np.ndarray
    event_price: np.ndarray  # dollars, 0 for free events
    event_host: np.ndarray
    venue: np.ndarray  # (events, 2) km
    host_first_week: np.ndarray  # (hosts,): the week of the host's first event
    distance: np.ndarray  # (users, events) km
    true_prob: np.ndarray  # (users, events): P(register), the hidden truth
    registered: np.ndarray  # (users, events) bool: the outcome
    early: np.ndarray  # (users, events) bool: registered before ranking time

    @property
    def n_users(self) -> int:
        return self.home.shape[0]


# --8<-- [start:world]
def simulate_city(
    seed: int, n_users: int = 800, n_hosts: int = 120, events_per_week: int = 50
) -> World:
    """Users, hosts and ten weeks of events; registrations from a hidden utility."""
    for name, value in (("n_users", n_users), ("n_hosts", n_hosts),
                        ("events_per_week", events_per_week)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
        if value < 10:
            raise ValueError(f"{name} must be at least 10, got {value}")
    rng = np.random.default_rng(seed)
    # Users in five neighbourhoods of a 40 x 40 km city; tastes for one or two
    # topics; a travel tolerance; workers are rarely free on weekdays by day.
    centres = rng.uniform(5, 35, (5, 2))
    home = centres[rng.integers(0, 5, n_users)] + rng.normal(0, 4, (n_users, 2))
    taste = rng.normal(0, 0.7, (n_users, TOPICS))
    taste[np.arange(n_users), rng.integers(0, TOPICS, n_users)] += 1.5
    tolerance_km = np.exp(rng.normal(np.log(6), 0.5, n_users))
    worker = rng.random(n_users) < 0.7
    availability = np.where(worker[:, None], [0.1, 0.8, 0.9, 0.7], 0.6)
    availability = np.clip(availability + rng.normal(0, 0.1, (n_users, 4)), 0.02, 1)
    price_sensitivity = rng.uniform(0.2, 1.0, n_users)
    nearest = np.argsort(_distances(home, home), axis=1)[:, 1:41]
    friends = np.array([rng.choice(row, FRIENDS, replace=False) for row in nearest])
    # Hosts: a venue, a main topic, a hidden quality; 60% exist from week 0, the
    # others start later (new hosts have no history when their events appear).
    host_venue = centres[rng.integers(0, 5, n_hosts)] + rng.normal(0, 6, (n_hosts, 2))
    host_topic = rng.integers(0, TOPICS, n_hosts)
    host_quality = rng.normal(0, 0.7, n_hosts)
    host_first_week = np.where(
        rng.random(n_hosts) < 0.6, 0, rng.integers(1, WEEKS, n_hosts)
    )
    host_price = np.where(rng.random(n_hosts) < 0.4, 0.0, rng.lognormal(3, 0.6))
    # Events: each week, hosts already active create events in their own style;
    # a host who joins after week 0 posts in the week it joins.
    n_events = WEEKS * events_per_week
    week = np.repeat(np.arange(WEEKS), events_per_week)
    host = np.empty(n_events, dtype=int)
    for w in range(WEEKS):
        active = np.flatnonzero(host_first_week <= w)
        first = active[host_first_week[active] == w] if w else active[:0]
        picks = rng.choice(active, events_per_week - first.size)
        host[week == w] = rng.permutation(np.r_[first, picks])
    topic = np.where(rng.random(n_events) < 0.8, host_topic[host],
                     rng.integers(0, TOPICS, n_events))  # fmt: skip
    venue = host_venue[host] + rng.normal(0, 2, (n_events, 2))
    slot = rng.integers(0, len(SLOTS), n_events)
    price = host_price[host] * rng.lognormal(0, 0.3, n_events)
    quality = host_quality[host] + rng.normal(0, 0.3, n_events)
    distance = _distances(home, venue)
    # The hidden utility of each (user, event) pair, before friends.
    base = (
        TRUTH["intercept"]
        + TRUTH["quality"] * quality[None, :]
        + TRUTH["topic_taste"] * taste[:, topic]
        + TRUTH["distance_over_tolerance"] * distance / tolerance_km[:, None]
        + TRUTH["log_availability"] * np.log(availability[:, slot])
        + TRUTH["price_sensitivity"]
        * price_sensitivity[:, None]
        * np.log1p(price)[None, :]
    )
    # Friends who registered early (before the ranking moment) raise the utility.
    early = (rng.random(base.shape) < sigmoid(base)) & (
        rng.random(base.shape) < EARLY_SHARE
    )
    going = early[friends].sum(axis=1)  # (users, events)
    logit = base + TRUTH["friends_going"] * np.minimum(going, SOCIAL_CAP)
    true_prob = sigmoid(logit)
    registered = rng.random(base.shape) < true_prob
    return World(
        home, friends, week, topic, slot, price, host, venue, host_first_week,
        distance, true_prob, registered, early,
    )  # fmt: skip
    # --8<-- [end:world]


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between every row of a and every row of b."""
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))


FEATURE_GROUPS = {  # what each ablation removes
    "distance": ("log distance", "distance over usual"),
    "topic": ("topic share",),
    "time slot": ("slot share",),
    "host history": ("host rate", "new host", "follows host"),
    "friends going": ("friends going",),
}
FEATURES = (
    *(name for group in FEATURE_GROUPS.values() for name in group),
    "log price",
    "user activity",
)


# --8<-- [start:features]
def point_in_time_features(
    world: World, events: np.ndarray, history_end: int
) -> dict[str, np.ndarray]:
    """(users, events) features from what was known before week history_end.

    Profiles, the host's record and the follows come from registrations on
    events of earlier weeks only; friends going counts early registrations.
    """
    events = np.asarray(events)
    if events.ndim != 1 or not np.issubdtype(events.dtype, np.integer):
        raise TypeError("events must be a 1-D array of event indices")
    if isinstance(history_end, bool) or not isinstance(history_end, int):
        raise TypeError(f"history_end must be an integer week, got {history_end!r}")
    if not 1 <= history_end <= WEEKS:
        raise ValueError(f"history_end must be in [1, {WEEKS}], got {history_end}")
    past = np.flatnonzero(world.event_week < history_end)
    reg = world.registered[:, past].astype(float)  # (users, past events)
    n_past = reg.sum(axis=1)
    near = world.distance[:, events]

    def share(kind: np.ndarray, n_kinds: int) -> np.ndarray:
        """Smoothed share of each user's past registrations of each kind."""
        counts = reg @ np.eye(n_kinds)[kind[past]]  # (users, kinds)
        prior = (counts.sum(axis=0) + 1) / (counts.sum() + n_kinds)
        return np.log((counts + 2 * prior) / (n_past[:, None] + 2))

    usual = (reg * np.log1p(world.distance[:, past])).sum(axis=1) + 2 * np.log1p(8.0)
    usual /= n_past + 2  # mean log trip of past registrations, shrunk towards 8 km
    typical_km = np.expm1(usual)  # the user's typical trip
    # The host's record: registrations per user within reach of its past events.
    hosts = world.host_first_week.size
    in_reach = (world.distance[:, past] <= RADIUS_KM).sum(axis=0)
    regs = np.bincount(world.event_host[past], reg.sum(axis=0), hosts)
    reach = np.bincount(world.event_host[past], in_reach, hosts)
    base_rate = regs.sum() / reach.sum()
    rate = (regs + 200 * base_rate) / (reach + 200)  # shrunk towards the mean
    host = world.event_host[events]
    follows = (reg @ np.eye(hosts)[world.event_host[past]]) > 0
    going = world.early[:, events][world.friends].sum(axis=1)
    shape = near.shape
    return {
        "log distance": np.log1p(near),
        # A ratio, not a difference of logs: log d - c_u ranks a user's events as
        # log d alone does, while d / typical scales each user's distance penalty.
        "distance over usual": near / typical_km[:, None],
        "topic share": share(world.event_topic, TOPICS)[:, world.event_topic[events]],
        "slot share": share(world.event_slot, len(SLOTS))[:, world.event_slot[events]],
        "host rate": np.broadcast_to(np.log(rate[host] / (1 - rate[host])), shape),
        "new host": np.broadcast_to((reach[host] == 0).astype(float), shape),
        "follows host": follows[:, host].astype(float),
        "friends going": np.minimum(going, SOCIAL_CAP).astype(float),
        "log price": np.broadcast_to(np.log1p(world.event_price[events]), shape),
        "user activity": np.broadcast_to(np.log1p(n_past)[:, None], shape),
    }
    # --8<-- [end:features]
