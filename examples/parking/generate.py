"""Writes one "API snapshot" of Stavanger parking data as a JSON file.

Each snapshot holds the last hour of readings (one per facility every 15 minutes), so
consecutive snapshots overlap; one facility's reading arrives a round late, as real APIs do.
Usage: generate.py OUT_DIR ROUND
"""
import datetime
import json
import random
import sys

FACILITIES = [
    ("Jernbaneveien", 58.9666, 5.7332, 120), ("Kyrre", 58.9709, 5.7265, 300),
    ("Siddis", 58.9740, 5.7301, 250), ("Posthuset", 58.9693, 5.7355, 90),
    ("Torget", 58.9712, 5.7310, 60), ("Stavanger Forum", 58.9486, 5.7154, 800),
    ("Madla", 58.9540, 5.6800, 200), ("Hillevåg", 58.9510, 5.7380, 150),
    ("Bekhuskaien", 58.9750, 5.7250, 110), ("Forus", 58.8900, 5.7300, 1000),
]
START = datetime.datetime(2024, 3, 1, 7, 0, tzinfo=datetime.timezone.utc)


def reading(name, lat, lon, capacity, t):
    rnd = random.Random(f"{name}{t.isoformat()}")
    return {"location": name, "latitude": lat, "longitude": lon,
            "available_spaces": rnd.randrange(capacity + 1),
            "timestamp": t.isoformat().replace("+00:00", "Z")}


def snapshot(round_no):
    now = START + datetime.timedelta(minutes=15 * round_no)
    rows = []
    for step in range(4):  # the last hour, every 15 minutes
        t = now - datetime.timedelta(minutes=15 * step)
        for i, (name, lat, lon, cap) in enumerate(FACILITIES):
            # Madla's newest reading is delivered one round late.
            if name == "Madla" and step == 0:
                continue
            rows.append(reading(name, lat, lon, cap, t))
    return now, rows


if __name__ == "__main__":
    out, round_no = sys.argv[1], int(sys.argv[2])
    now, rows = snapshot(round_no)
    path = f"{out}/snapshot_{now.strftime('%Y%m%dT%H%M')}.json"
    with open(path, "w") as f:
        json.dump(rows, f, indent=1, ensure_ascii=False)
    print(f"  API snapshot {path}: {len(rows)} readings up to {now.isoformat()}")
