"""One GPU serving an LLM, as a discrete-event simulation, and what it measures.

Two schedulers over the world of ``llm_inference_world``:

- static batching: when the GPU is idle, take the waiting requests whose KV cache,
  reserved for the prompt plus the maximum output, fits; prefill them together; decode
  until the longest is done (finished sequences keep their slot, as padding);
- continuous batching (iteration-level): requests join and leave the running batch at
  every step; prefill either runs whole prompts in their own steps, pausing decodes
  (prefill-first), or in chunks that ride along with the decode steps; the KV cache is
  paged (allocated as sequences grow, the newest preempted and recomputed on overflow)
  or reserved for the maximum length; the shared system prompt's KV is computed once
  and shared (prefix caching) or recomputed for every request.

Then: TTFT and TPOT percentiles of a run, the largest Poisson rate whose p99s meet the
objectives, and the time to serve a backlog. Simulated time only: nothing here reads
a clock.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass, replace

import numpy as np

from snippets.problems.llm_inference_world import (
    Outcome,
    StepModel,
    Summary,
    Workload,
    decode_lines,
    make_workload,
    meets,
    positive_int,
    run_seconds,
    summarise,
)

WINDOW_S = 60.0  # simulated seconds of arrivals in a run


@dataclass(frozen=True)
class Policy:
    """How the server batches, allocates the KV cache and admits requests."""

    name: str
    continuous: bool = True  # False: static batches run to completion
    chunk_tokens: int | None = None  # prefill tokens a step; None: prefill-first
    prefix_cache: bool = False  # the shared system prompt's KV computed once
    share_prefix_kv: bool = True  # its blocks stored once (False: one per request)
    paged: bool = True  # False: reserve prompt + max_output per request
    max_batch: int | None = None  # sequences at once (1: no batching)
    max_queue: int | None = None  # shed arrivals beyond this many waiting
    prefill_budget: int = 8_192  # prefill-first: tokens in one prefill step

    def __post_init__(self) -> None:
        for name in ("chunk_tokens", "max_batch", "max_queue"):
            value = getattr(self, name)
            if value is not None:
                positive_int(name, value, minimum=0 if name == "max_queue" else 1)
        positive_int("prefill_budget", self.prefill_budget)
        if not self.continuous and (self.chunk_tokens or self.prefix_cache):
            raise ValueError("chunked prefill and prefix caching need continuous")
        if not self.continuous and self.paged:
            raise ValueError("a static batch reserves its KV cache: paged=False")


def simulate(
    work: Workload, policy: Policy, model: StepModel, kv_tokens: int
) -> Outcome:
    """Serve `work` on one GPU whose KV cache holds `kv_tokens` tokens."""
    positive_int("kv_tokens", kv_tokens)
    if not isinstance(policy, Policy):
        raise TypeError("policy must be a Policy")
    need = int(work.prompt.max()) + work.max_output
    if need > kv_tokens:
        raise ValueError(f"one request may need {need} KV tokens, over {kv_tokens}")
    if policy.continuous:
        return _continuous(work, policy, model, kv_tokens)
    return _static(work, policy, model, kv_tokens)


def _static(work: Workload, policy: Policy, model: StepModel, capacity: int):
    n = len(work.arrival_s)
    arrival, prompt = work.arrival_s.tolist(), work.prompt.tolist()
    output = work.output.tolist()
    admitted, first, finish = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    now, nxt, busy, batch_s, kv_s = 0.0, 0, 0.0, 0.0, 0.0
    limit = policy.max_batch or n
    while nxt < n:
        now = max(now, arrival[nxt])
        batch, reserved = [], 0
        # Everyone who has arrived and whose reservation fits joins this batch.
        while nxt < n and arrival[nxt] <= now and len(batch) < limit:
            size = prompt[nxt] + work.max_output
            if reserved + size > capacity:
                break
            batch.append(nxt)
            reserved += size
            nxt += 1
        admitted[batch] = now
        new = sum(prompt[i] for i in batch)
        pairs = sum(p * (p + 1) / 2 for p in (prompt[i] for i in batch))
        prefill = model.seconds(new, new, pairs, len(batch))
        now += prefill
        first[batch] = now
        # Decode until the longest answer ends; finished rows stay in as padding.
        steps = max(output[i] for i in batch) - 1
        a, s1, c, s2 = decode_lines(model, len(batch), new)
        j = np.arange(steps)
        elapsed = np.cumsum(np.maximum(a + s1 * j, c + s2 * j))
        for i in batch:
            finish[i] = now + (elapsed[output[i] - 2] if output[i] > 1 else 0.0)
        run = float(elapsed[-1]) if steps else 0.0
        busy += prefill + run
        batch_s += len(batch) * (prefill + run)
        kv_s += reserved * (prefill + run)
        now += run
    return Outcome(
        admitted, first, finish, np.zeros(n, bool), busy, batch_s, kv_s, capacity, 0
    )


def _continuous(work: Workload, policy: Policy, model: StepModel, kv_tokens: int):
    return _Engine(work, policy, model, kv_tokens).run()


class _Engine:
    """Iteration-level scheduling. A decode run between events is summed in closed
    form; prefill passes (whole or chunked) are taken one at a time."""

    def __init__(self, work, policy, model, kv_tokens):
        n = len(work.arrival_s)
        self.n, self.policy, self.model, self.kv_tokens = n, policy, model, kv_tokens
        self.arrival, self.prompt = work.arrival_s.tolist(), work.prompt.tolist()
        self.output = work.output.tolist()
        self.cached = work.shared_prefix if policy.prefix_cache else 0
        # Pinned once and shared, or (the ablation) copied into every request's blocks.
        self.pinned = self.cached if policy.share_prefix_kv else 0
        self.capacity = kv_tokens - self.pinned
        self.extra = 0 if policy.paged else work.max_output  # reserved for answers
        self.limit = policy.max_batch or n
        self.admitted, self.first = [math.nan] * n, [math.nan] * n
        self.finish, self.shed = [math.nan] * n, [False] * n
        self.emitted = [0] * n  # tokens already streamed to the client
        self.join_tick, self.join_ctx = [0] * n, [0] * n
        self.held, self.end_tick = [0] * n, [0] * n
        self.in_decode = [False] * n
        self.waiting: deque[int] = deque()
        self.prefilling: deque[list[int]] = deque()  # [id, tokens prefilled]
        self.heap: list[tuple[int, int]] = []  # (tick it ends at, id)
        self.order: list[int] = []  # decode joins, newest last
        self.now, self.tick, self.nxt, self.done = 0.0, 0, 0, 0
        self.b = self.context = self.used = 0  # decoding, their context, KV held
        self.busy = self.batch_s = self.kv_s = 0.0
        self.preemptions = 0

    def prompt_of(self, i: int) -> int:
        """Tokens to prefill: a preempted request recomputes what it sent too."""
        return self.prompt[i] + self.emitted[i]

    def fits(self, i: int) -> bool:
        """Room for its prompt, and for one more token of every decoding sequence."""
        need = self.prompt[i] + self.emitted[i] - self.pinned + self.extra
        return self.used + need + self.b <= self.capacity

    def admit(self, i: int) -> None:
        self.waiting.popleft()
        self.used += self.prompt[i] + self.emitted[i] - self.pinned + self.extra
        if math.isnan(self.admitted[i]):
            self.admitted[i] = self.now

    def enqueue_arrivals(self) -> None:
        cap = self.policy.max_queue
        while self.nxt < self.n and self.arrival[self.nxt] <= self.now:
            if cap is not None and len(self.waiting) >= cap:
                self.shed[self.nxt] = True  # rejected at once: retry elsewhere
                self.done += 1
            else:
                self.waiting.append(self.nxt)
            self.nxt += 1

    def start_decode(self, i: int) -> None:
        """Prefill done: its last pass streamed a token; decode the rest."""
        ctx = self.prompt[i] + self.emitted[i]
        self.emitted[i] += 1
        if math.isnan(self.first[i]):
            self.first[i] = self.now
        held = ctx - self.pinned + self.extra
        if self.emitted[i] >= self.output[i]:
            self.finish[i] = self.now
            self.used -= held
            self.done += 1
            return
        self.in_decode[i] = True
        self.join_tick[i], self.join_ctx[i], self.held[i] = self.tick, ctx, held
        self.end_tick[i] = self.tick + self.output[i] - self.emitted[i]
        heapq.heappush(self.heap, (self.end_tick[i], i))
        self.order.append(i)
        self.b += 1
        self.context += ctx

    def leave_decode(self, i: int) -> None:
        steps = self.tick - self.join_tick[i]
        self.emitted[i] += steps
        self.context -= self.join_ctx[i] + steps
        self.used -= self.held[i] + (steps if self.policy.paged else 0)
        self.in_decode[i] = False
        self.b -= 1

    def preempt_newest(self) -> None:
        """Out of KV blocks: free the newest sequence; it recomputes later."""
        while True:
            i = self.order.pop()
            if self.in_decode[i]:
                break
        self.leave_decode(i)
        self.waiting.appendleft(i)
        self.preemptions += 1

    def finish_due(self) -> None:
        heap = self.heap
        while heap and heap[0][0] <= self.tick:
            end, i = heapq.heappop(heap)
            if self.in_decode[i] and self.end_tick[i] == end:
                self.leave_decode(i)
                self.finish[i] = self.now
                self.done += 1

    def account(self, dt: float, running: int, kv: float) -> None:
        self.now += dt
        self.busy += dt
        self.batch_s += running * dt
        self.kv_s += (kv + self.pinned) * dt

    def prefill_first(self) -> bool:
        """One pass over whole waiting prompts; decodes wait. False if none fit."""
        pieces, tokens = [], 0
        while self.waiting and self.b + len(pieces) < self.limit:
            i = self.waiting[0]
            new = self.prompt_of(i) - self.cached
            if not self.fits(i) or (
                pieces and tokens + new > self.policy.prefill_budget
            ):
                break
            self.admit(i)
            tokens += new
            pieces.append(i)
        if not pieces:
            return False
        kv = pairs = 0.0
        for i in pieces:
            new = self.prompt_of(i) - self.cached
            kv += self.cached + new
            pairs += new * (self.cached + (new + 1) / 2)
        self.account(
            self.model.seconds(tokens, kv, pairs, len(pieces)),
            self.b + len(pieces),
            self.used,
        )
        for i in pieces:
            self.start_decode(i)
        return True

    def mixed_step(self) -> bool:
        """One pass: every decoding sequence plus up to chunk_tokens of prefill."""
        while self.b and self.policy.paged and self.used + self.b > self.capacity:
            self.preempt_newest()
        prompt, emitted, cached = self.prompt, self.emitted, self.cached
        left = self.policy.chunk_tokens
        pieces = []  # (entry, new tokens)
        new = kv = 0
        pairs = 0.0
        for entry in self.prefilling:  # partly prefilled prompts first, in order
            if not left:
                break
            i, did = entry
            take = min(prompt[i] + emitted[i] - cached - did, left)
            pieces.append((entry, take))
            new, kv = new + take, kv + cached + did + take
            pairs += take * (cached + did + (take + 1) / 2)
            left -= take
        waiting, prefilling = self.waiting, self.prefilling
        slots = self.limit - self.b
        while left and waiting and len(prefilling) < slots:
            i = waiting[0]
            if not self.fits(i):
                break
            self.admit(i)
            entry = [i, 0]
            prefilling.append(entry)
            take = min(prompt[i] + emitted[i] - cached, left)
            pieces.append((entry, take))
            new, kv = new + take, kv + cached + take
            pairs += take * (cached + (take + 1) / 2)
            left -= take
        if not pieces:
            return False
        b, model = self.b, self.model
        new, kv, pairs = new + b, kv + self.context + b, pairs + self.context + b
        memory = model.weights + model.per_new_byte * new + model.per_kv_token * kv
        compute = (
            model.per_new_flop * new
            + model.per_attended * pairs
            + model.per_logit * (b + len(pieces))
        )
        self.account(max(memory, compute), b + len(prefilling), self.used)
        if b:
            self.tick += 1
            self.context += b
            if self.policy.paged:
                self.used += b
            if self.heap[0][0] <= self.tick:
                self.finish_due()
        for entry, take in pieces:
            entry[1] += take
            i = entry[0]
            if entry[1] + cached >= prompt[i] + emitted[i]:
                prefilling.popleft()  # only the last piece can be partial
                self.start_decode(i)
        return True

    def decode_run(self) -> None:
        """Decode steps up to the next event: an answer ends, a request arrives
        (when it could be admitted), or the paged cache would overflow."""
        heap = self.heap
        while not (
            self.in_decode[heap[0][1]] and self.end_tick[heap[0][1]] == heap[0][0]
        ):
            heapq.heappop(heap)
        steps = heap[0][0] - self.tick
        if self.policy.paged:
            room = (self.capacity - self.used) // self.b
            if room == 0:
                self.preempt_newest()
                return
            steps = min(steps, room)
        a, s1, c, s2 = decode_lines(self.model, self.b, self.context)
        if not self.waiting and self.nxt < self.n:
            gap = self.arrival[self.nxt] - self.now
            if run_seconds(a, s1, c, s2, 1) >= gap:
                steps = 1  # it arrives during the next step (common under load)
            elif run_seconds(a, s1, c, s2, steps) > gap:
                lo, hi = 2, steps  # stop at the first boundary after it arrives
                while lo < hi:
                    mid = (lo + hi) // 2
                    if run_seconds(a, s1, c, s2, mid) >= gap:
                        hi = mid
                    else:
                        lo = mid + 1
                steps = lo
        dt = run_seconds(a, s1, c, s2, steps)
        grow = self.b * steps if self.policy.paged else 0
        self.account(dt, self.b, self.used + grow / 2)
        self.tick += steps
        self.context += self.b * steps
        self.used += grow
        self.finish_due()

    def run(self) -> Outcome:
        chunked = self.policy.chunk_tokens is not None
        while self.done < self.n:
            self.enqueue_arrivals()
            if chunked and self.mixed_step():
                continue
            if not chunked and self.prefill_first():
                continue
            if self.b:
                self.decode_run()
            elif self.nxt < self.n:  # idle until the next arrival
                self.now = max(self.now, self.arrival[self.nxt])
            elif self.done < self.n:
                raise RuntimeError("requests left that can never be served")
        return Outcome(
            np.array(self.admitted),
            np.array(self.first),
            np.array(self.finish),
            np.array(self.shed),
            self.busy,
            self.batch_s,
            self.kv_s,
            self.kv_tokens,
            self.preemptions,
        )


def run(
    policy: Policy,
    rate: float,
    seed: int,
    model: StepModel,
    kv_tokens: int,
    slo: tuple[float, float] | None = None,
    window_s: float = WINDOW_S,
) -> Summary:
    """Simulate `window_s` seconds of Poisson arrivals at `rate` and summarise them."""
    n = math.ceil(rate * window_s)
    work = make_workload(n, rate, seed)
    return summarise(work, simulate(work, policy, model, kv_tokens), slo)


# --8<-- [start:max_load]
def max_load(
    policy: Policy,
    seed: int,
    model: StepModel,
    kv_tokens: int,
    slo: tuple[float, float],
    bracket: tuple[float, float],
    steps: int = 5,
) -> float:
    """The largest arrival rate (requests/s) whose TTFT and TPOT p99s meet `slo`.

    Bisection on a log scale inside `bracket`, whose low end must pass and high end
    fail; the same requests at every rate (only time is rescaled).
    """
    low, high = bracket
    if not 0 < low < high:
        raise ValueError(f"need 0 < low < high, got {bracket}")
    for _ in range(steps):
        mid = math.sqrt(low * high)
        if meets(run(policy, mid, seed, model, kv_tokens), *slo):
            low = mid
        else:
            high = mid
    return low
    # --8<-- [end:max_load]


def drain(
    policy: Policy, seed: int, model: StepModel, kv_tokens: int, n: int = 400, **kw
) -> float:
    """Output tokens per second to serve a backlog: `n` requests waiting at time 0."""
    work = make_workload(n, math.inf, seed, **kw)
    out = simulate(work, replace(policy, max_queue=None), model, kv_tokens)
    return float(work.output.sum() / np.nanmax(out.finish_s))
