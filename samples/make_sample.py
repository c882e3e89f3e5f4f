"""Writes samples/threads.jsonl: small, self-written English threads as Twitter v1.1 JSON.

Run `python samples/make_sample.py` after editing THREADS. Each thread is
(source text, [replies]); a reply given as (n, text) answers reply n of the same thread
(0-based) instead of the source, so chains go several levels deep.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

THREADS: list[tuple[str, list[object]]] = [
    (
        "Azarenka and her weird noises again, the umpire should say something #AusOpen",
        [
            "Nadal was so quiet compared to her last night",
            (0, "Tomic has a fantastic tennis brain"),
            "Melbourne heat is brutal for the players",
        ],
    ),
    (
        "Centre court in Melbourne is packed for the night session #AusOpen",
        ["Federer in straight sets, called it", "the tennis this week has been unreal", (1, "Nadal next, cannot wait")],
    ),
    (
        "Five set thriller, what a comeback under the roof #AusOpen",
        [
            "best tennis match of the year already",
            "Djokovic never gives up",
            (0, "the crowd in Melbourne deserved that"),
        ],
    ),
    (
        "Snow is piling up outside, schools closed tomorrow #SnowDay",
        [
            "we got ten inches overnight",
            "shovelling the driveway for the third time",
            (1, "the plows have not come by yet"),
        ],
    ),
    (
        "Kids are building a snowman in the yard #SnowDay",
        ["hot chocolate after sledding is the best", "roads are icy, stay home", (0, "our street has not been plowed")],
    ),
    (
        "No power and the snow keeps falling #SnowDay",
        ["candles and board games tonight", (0, "the power company says tomorrow"), "stay warm everyone"],
    ),
    (
        "Our sourdough finally rose, the crumb looks amazing #BreadBaking",
        ["what hydration did you use", (0, "seventy five percent and a long cold proof"), "that crust is perfect"],
    ),
    (
        "First attempt at a rye loaf, dense but tasty #BreadBaking",
        ["rye needs a longer proof", "try adding more starter", (1, "my starter is three years old")],
    ),
    (
        "Baguettes out of the oven, the kitchen smells incredible #BreadBaking",
        ["the scoring looks great", "did you use steam in the oven", (1, "a tray of ice cubes works")],
    ),
    (
        "Polls close at eight, go vote if you have not yet #ElectionNight",
        [
            "the line at my polling station is huge",
            "turnout looks high this year",
            (0, "stay in line, they have to let you vote"),
        ],
    ),
    (
        "First results coming in, the swing states are close #ElectionNight",
        ["the exit polls were wrong again", "too early to call", (1, "the count will take days")],
    ),
    (
        "The concession speech was gracious tonight #ElectionNight",
        ["a peaceful transfer of power matters", "turnout was a record", (1, "every vote was counted")],
    ),
    (
        "Phone screen cracked again, the new model is not tough at all #TechFail",
        ["get a case next time", "the repair costs more than the phone", (0, "glass screens are a design flaw")],
    ),
    (
        "Laptop update bricked my machine this morning #TechFail",
        ["roll back the update", "the software team should test more", (0, "same thing happened to my laptop")],
    ),
    (
        "Smart fridge needs a firmware update before it gives me ice #TechFail",
        ["why does a fridge need software", "the internet of broken things", (0, "just unplug it")],
    ),
    (
        "Goal in the ninetieth minute, the stadium went wild #WorldCup",
        ["what a strike from outside the box", "the keeper had no chance", (0, "the best goal of the tournament")],
    ),
    (
        "Penalty shootout again, my nerves cannot take it #WorldCup",
        ["the keeper guessed right three times", "football is cruel", (1, "penalties are a lottery")],
    ),
    (
        "The final is set, two giants of football meet on Sunday #WorldCup",
        ["the midfield battle will decide it", "tickets sold out in minutes", (0, "the stadium holds ninety thousand")],
    ),
    (
        "The rover sent back new pictures from the crater #Mars",
        [
            "the red planet never looked so close",
            "the dust storm season is coming",
            (0, "the rocks look like an old river bed"),
        ],
    ),
    (
        "Launch window opens next week for the mission #Mars",
        ["the rocket is on the pad", "seven months of travel", (1, "the landing is the hard part")],
    ),
    (
        "Ice found under the surface near the pole #Mars",
        [
            "water means future astronauts could drink it",
            "the rover will drill there",
            (1, "the planet keeps surprising us"),
        ],
    ),
    (
        "Marathon training day twenty, sixteen miles done #RunningCommunity",
        ["your pace is improving", "remember the rest days", (0, "hydration is key on long runs")],
    ),
    (
        "New running shoes and a personal best on the five k #RunningCommunity",
        ["the cushioning makes a difference", "congrats on the pb", (1, "speed work pays off")],
    ),
    (
        "Rainy morning run, nobody else on the trail #RunningCommunity",
        ["the best runs are in the rain", "wet shoes for days", (0, "mud on the trail makes it fun")],
    ),
]

START = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def tweet(tid: int, text: str, when: datetime, parent: int | None, user: int) -> dict[str, object]:
    return {
        "id_str": str(tid),
        "created_at": when.strftime("%a %b %d %H:%M:%S %z %Y"),
        "text": text,
        "in_reply_to_status_id_str": None if parent is None else str(parent),
        "lang": "en",
        "user": {"id_str": str(1000 + user), "screen_name": f"sample_user_{user}"},
    }


def main() -> None:
    rows: list[dict[str, object]] = []
    next_id = 900_000_000
    # Topics come three threads each; interleave them so any tail of the stream (a dev
    # split) holds topics that were also seen earlier.
    ordered = [THREADS[i] for i in sorted(range(len(THREADS)), key=lambda i: (i % 3, i // 3))]
    for number, (source, replies) in enumerate(ordered):
        when = START + timedelta(minutes=37 * number)
        root = next_id
        next_id += 1
        rows.append(tweet(root, source, when, None, number % 7))
        reply_ids: list[int] = []
        for offset, reply in enumerate(replies, start=1):
            parent, text = (reply_ids[reply[0]], reply[1]) if isinstance(reply, tuple) else (root, reply)
            rows.append(tweet(next_id, str(text), when + timedelta(minutes=3 * offset), parent, (number + offset) % 11))
            reply_ids.append(next_id)
            next_id += 1
    rows.sort(key=lambda r: (datetime.strptime(str(r["created_at"]), "%a %b %d %H:%M:%S %z %Y"), r["id_str"]))
    out = Path(__file__).with_name("threads.jsonl")
    out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    print(f"wrote {len(rows)} tweets in {len(THREADS)} threads to {out}")


if __name__ == "__main__":
    main()
