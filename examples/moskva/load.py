"""Load the Moskva story (story.json) into a running claimledger over its REST API.

    python -m examples.moskva.load --url http://127.0.0.1:8000 --key "$CLAIMLEDGER_KEY"

Sources, metrics and relations first, then the claims stage by stage, in the order the
ministry gave them; it prints the checks after each stage, and the moment each stage was
known, for `known_at` and the metric diffs (see README.md).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import httpx

STORY = Path(__file__).with_name("story.json")


def story() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(STORY.read_text(encoding="utf-8"))
    return data


def post(client: httpx.Client, path: str, body: Any) -> httpx.Response:
    response = client.post(path, json=body)
    if response.status_code != 201:
        raise RuntimeError(f"POST {path}: {response.status_code} {response.text}")
    return response


def caught_up(response: httpx.Response) -> dict[str, str]:
    """Reads after this write see it (the views may lag the log by a moment)."""
    return {"X-Min-Position": response.headers["X-Ledger-Position"]}


def recorded_at(client: httpx.Client, response: httpx.Response) -> str:
    """When the write was recorded: a moment at which everything up to it is known."""
    position = int(response.headers["X-Ledger-Position"])
    events = client.get(
        "/v1/audit/events", params={"after": position - 1, "limit": 1}, headers=caught_up(response)
    )
    events.raise_for_status()
    stamp: str = events.json()["events"][0]["recorded_at"]
    return stamp


def load(client: httpx.Client, data: dict[str, Any] | None = None) -> list[str]:
    """Record the story; the moment each stage was fully recorded, in order."""
    data = story() if data is None else data
    for source in data["sources"]:
        post(client, "/v1/sources", source)
    for metric in data["metrics"]:
        post(client, "/v1/metrics", metric)
    for relation in data["relations"]:
        post(client, "/v1/relations", relation)
    moments = []
    for stage in data["stages"]:
        last = post(client, "/v1/claims/batch", stage["claims"])
        moments.append(recorded_at(client, last))
    return moments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", default=os.environ.get("CLAIMLEDGER_KEY"))
    arguments = parser.parse_args()
    headers = {"Authorization": f"Bearer {arguments.key}"} if arguments.key else {}
    data = story()
    with httpx.Client(base_url=arguments.url, headers=headers, timeout=30) as client:
        moments = load(client, data)
        for stage, moment in zip(data["stages"], moments, strict=True):
            print(f"{stage['name']}: known at {moment}")
            params = {"known_at": moment, "metric": "moskva/crew"}
            checks = client.get("/v1/checks", params=params).json()["items"]
            for check in checks:
                print(f"  {check['relation']}: {check['status']} ({check['message']})")
        first, last = moments[0], moments[-1]
        print(f"diff: GET /v1/metrics/moskva/missing/diff?from={first}&to={last}")


if __name__ == "__main__":
    main()
