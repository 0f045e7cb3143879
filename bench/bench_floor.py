"""The pull funnel against its floor. Run by hand: ``python bench/bench_floor.py [100k]``.

How far is the sync's own work (Extract CSV → stored chats → interval counts) from the
least any implementation must do? The floor here is plain Python and SQLite over the same
three CSV files: ``csv.reader``, one dict per chat merging first creation, latest resolution
and the group at that resolution, then one ``executemany`` for the chats and one for the
interval counts. The app's side is what a sync runs per window, the three files'
``reports.iter_extract_chunks`` into ``chat_streams.apply_chunk_streams``, on a fresh
database with the same settings as production.

Both run in this one process on the same files, one after the other, and each is measured
in CPU seconds (``time.process_time``), so the ratio holds on a machine shared with other
work. Both results are checked against the simulator's oracle (``expected_contacts``).
The download, zip and readability steps of a real sync are not counted on either side.

    python bench/bench_floor.py          # 100k chats
    python bench/bench_floor.py 10k
"""

from __future__ import annotations

import csv
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet

from bench.bench_sync import BACKFILL_DAYS, NOW, make_account, parse_size, stored_contacts
from webapp import chats, integrations
from webapp.chat_streams import apply_chunk_streams
from webapp.database import open_database
from webapp.freshchat.reports import iter_extract_chunks
from webapp.freshchat.simulator import CSV_COLUMNS, UNDEFINED_QUEUE, SimAccount
from webapp.models import Integration
from webapp.security import SecretBox
from webapp.timeutil import floor_interval

EVENTS = ("Conversation-Created", "Conversation-Group-Assigned", "Conversation-Resolved")
START = NOW - timedelta(days=BACKFILL_DAYS)


def write_files(account: SimAccount, folder: Path) -> dict[str, Path]:
    """The three Extract files of the backfill window, as plain CSV."""
    paths = {}
    for event in EVENTS:
        path = paths[event] = folder / f"{event}.csv"
        with path.open("w", newline="") as out:
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(CSV_COLUMNS)
            for rows in account.csv_rows(event, START, NOW):
                writer.writerows(rows)
    return paths


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.removesuffix("Z"))


def floor(paths: dict[str, Path], live_groups: dict[str, str], folder: Path) -> Counter:
    """The least work: parse, merge per chat, write chats and counts in bulk."""
    created: dict[str, datetime] = {}
    resolved: dict[str, tuple[datetime, str]] = {}
    ended_undefined: set[str] = set()
    with paths["Conversation-Created"].open(newline="") as file:
        rows = csv.reader(file)
        columns = {name: index for index, name in enumerate(next(rows))}
        cid, when = columns["conversation_id"], columns["created_time"]
        for row in rows:
            at = _time(row[when])
            if row[cid] not in created or at < created[row[cid]]:
                created[row[cid]] = at
    # Group-Assigned rows: read and parsed as the app must, though the Resolved row
    # already names the group at resolution in these files.
    with paths["Conversation-Group-Assigned"].open(newline="") as file:
        rows = csv.reader(file)
        columns = {name: index for index, name in enumerate(next(rows))}
        for row in rows:
            _time(row[columns["event_time"]])
    with paths["Conversation-Resolved"].open(newline="") as file:
        rows = csv.reader(file)
        columns = {name: index for index, name in enumerate(next(rows))}
        cid, when, group = columns["conversation_id"], columns["event_time"], columns["group_id"]
        spam, deleted = columns["is_spam"], columns["is_deleted"]
        for row in rows:
            if row[spam] == "true" or row[deleted] == "true":
                ended_undefined.add(row[cid])
                continue
            at = _time(row[when])
            if row[cid] not in resolved or at >= resolved[row[cid]][0]:
                resolved[row[cid]] = (at, row[group])
    counts: Counter = Counter()
    chat_rows = []
    for conversation_id, arrived in created.items():
        if conversation_id in ended_undefined:
            queue = UNDEFINED_QUEUE
        elif conversation_id in resolved:
            queue = live_groups.get(resolved[conversation_id][1], UNDEFINED_QUEUE)
        else:
            chat_rows.append((conversation_id, arrived, None, None))
            continue
        interval = floor_interval(arrived)
        counts[queue, interval] += 1
        chat_rows.append((conversation_id, arrived, queue, interval))
    connection = sqlite3.connect(folder / "floor.db")
    connection.executescript(
        "PRAGMA journal_mode=wal; PRAGMA synchronous=normal;"
        "CREATE TABLE chat (id TEXT PRIMARY KEY, created TEXT, queue TEXT, interval TEXT);"
        "CREATE TABLE stat (queue TEXT, interval TEXT, contacts INTEGER);"
    )
    with connection:
        connection.executemany(
            "INSERT INTO chat VALUES (?, ?, ?, ?)",
            [(c, a.isoformat(), q, i and i.isoformat()) for c, a, q, i in chat_rows],
        )
        connection.executemany(
            "INSERT INTO stat VALUES (?, ?, ?)",
            [(q, i.isoformat(), n) for (q, i), n in counts.items()],
        )
    connection.close()
    return counts


def app(paths: dict[str, Path], account: SimAccount, folder: Path) -> dict:
    """What a sync runs per file, on a fresh production-configured database."""
    open_database(f"sqlite:///{folder / 'app.db'}").connect(reuse_if_open=True)
    box = SecretBox(Fernet.generate_key().decode())
    integration = integrations.create(
        integrations.IntegrationInput("Floor", account.domain, "k" * 20, backfill_days=30), box
    )
    Integration.update(counted_from=START).where(Integration.id == integration.id).execute()
    chats.refresh_groups(integration.id, [group.as_json() for group in account.live_groups])
    problems: list[str] = []
    with ExitStack() as files:
        streams = [
            iter_extract_chunks(files.enter_context(paths[event].open("rb")), event, problems)
            for event in EVENTS
        ]
        apply_chunk_streams(integration.id, streams)
    assert not problems, problems[:3]
    return stored_contacts(integration.id)


def main() -> None:
    wanted = parse_size(sys.argv[1] if len(sys.argv) > 1 else "100k")
    account = make_account(wanted, seed=11)
    oracle = account.expected_contacts(START, NOW)
    live = {group.id: group.name for group in account.live_groups}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = write_files(account, folder)
        sizes = {event: sum(1 for _ in path.open()) - 1 for event, path in paths.items()}
        started = time.process_time()
        floor_counts = floor(paths, live, folder)
        floor_cpu = time.process_time() - started
        started = time.process_time()
        app_counts = app(paths, account, folder)
        app_cpu = time.process_time() - started
    chats_in_window = sizes["Conversation-Created"]
    print(f"chats {chats_in_window:,}; rows per file: {sizes}")
    print(f"floor: {floor_cpu:.2f} s CPU ({floor_cpu / chats_in_window * 1e6:.1f} µs per chat)")
    print(f"app:   {app_cpu:.2f} s CPU ({app_cpu / chats_in_window * 1e6:.1f} µs per chat)")
    print(f"ratio app / floor: {app_cpu / floor_cpu:.2f} times the floor (target: at most 2)")
    print(f"app matches the oracle: {app_counts == oracle}")
    print(f"floor matches the oracle: {dict(floor_counts) == oracle}")


if __name__ == "__main__":
    main()
