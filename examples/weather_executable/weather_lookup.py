#!/usr/bin/python3
"""An executable function: reads {"city_name": ...} on stdin, prints the weather as JSON on stdout.

The runtime starts it with a clean environment (WEATHER_TABLE from the manifest) in this folder, kills it at
its deadline, and validates the arguments against weather.json's schema before it runs.
"""
import csv
import json
import os
import sys

args = json.load(sys.stdin)
city = args["city_name"].strip().lower()
with open(os.environ["WEATHER_TABLE"], encoding="utf-8") as f:
    for row in csv.DictReader(f):
        names = [row["city"].lower()] + [a.lower() for a in row["aliases"].split("|") if a]
        if city in names:
            print(json.dumps({"city": row["city"], "condition": row["condition"],
                              "temperature_c": int(row["temperature_c"]), "humidity": int(row["humidity"])},
                             ensure_ascii=False))
            sys.exit(0)
print(json.dumps({"error": f"no weather data for {args['city_name']}"}, ensure_ascii=False))
sys.exit(1)
