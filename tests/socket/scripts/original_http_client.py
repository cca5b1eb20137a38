#!/usr/bin/env python3
"""A client written as the original ReasonChip HttpClient talks to its broker: it POSTs one RUN
packet to /v1/stream/stream and reads the response line by line, one JSON packet each, until the
RESULT for its cookie. Python's standard library only.

Usage: original_http_client.py HOST PORT COOKIE PIPELINE VARIABLES_JSON
Prints the RESULT packet as received and exits 0; exits 1 when the response ends without it.
"""
import http.client
import json
import sys


def main():
    host, port, cookie, pipeline, variables = sys.argv[1:6]
    packet = {
        "packet_type": "RUN",
        "cookie": cookie,
        "capacity": None,
        "pipeline": pipeline,
        "variables": variables,
        "detach": False,
        "rc": None,
        "error": None,
        "stacktrace": None,
        "result": None,
    }
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("POST", "/v1/stream/stream", body=json.dumps(packet),
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    if resp.status != 200:
        print(f"HTTP {resp.status}: {resp.read().decode()}", file=sys.stderr)
        return 1
    for line in resp:
        answer = json.loads(line)
        if answer.get("packet_type") == "RESULT" and answer.get("cookie") == cookie:
            print(json.dumps(answer, sort_keys=True))
            return 0
    print("the response ended without the RESULT", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
