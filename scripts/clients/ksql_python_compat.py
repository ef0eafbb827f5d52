"""ksqlDB client compatibility: drives a Riffle server with the unmodified ksql-python-ng
client library (PyPI), as an existing ksqlDB application would, and checks the answers.

Usage: python ksql_python_compat.py http://127.0.0.1:PORT
"""
import json
import sys
import time

from ksql import KSQLAPI


def rows_of(chunks):
    """The row arrays of a /query response, as the library streams it in chunks."""
    text = "".join(chunks).strip()
    messages = json.loads(text)
    return [m["row"]["columns"] for m in messages if "row" in m]


def main(url):
    client = KSQLAPI(url)
    earliest = {"auto.offset.reset": "earliest"}
    created = client.ksql(
        "CREATE STREAM PYPAY (CARD STRING KEY, AMOUNT DOUBLE) "
        "WITH (KAFKA_TOPIC='pypay', VALUE_FORMAT='JSON', PARTITIONS=1);"
    )
    assert created[0]["commandStatus"]["status"] == "SUCCESS", created
    ctas = client.ksql(
        "CREATE TABLE PYTOTALS AS SELECT CARD, COUNT(*) AS N, SUM(AMOUNT) AS TOTAL "
        "FROM PYPAY GROUP BY CARD;",
        stream_properties=earliest,
    )
    assert ctas[0]["commandStatus"]["queryId"].startswith("CTAS_PYTOTALS"), ctas
    for card, amount in [("c1", 1.5), ("c1", 2.5), ("c2", 4.0)]:
        client.ksql(f"INSERT INTO PYPAY (CARD, AMOUNT) VALUES ('{card}', {amount});")
    streams = client.ksql("SHOW STREAMS;")[0]["streams"]
    assert any(s["name"] == "PYPAY" for s in streams), streams
    fields = client.ksql("DESCRIBE PYTOTALS;")[0]["sourceDescription"]["fields"]
    assert [f["name"] for f in fields] == ["CARD", "N", "TOTAL"], fields
    push = rows_of(
        client.query("SELECT * FROM PYPAY EMIT CHANGES LIMIT 3;", stream_properties=earliest)
    )
    assert push == [["c1", 1.5], ["c1", 2.5], ["c2", 4.0]], push
    deadline = time.time() + 30
    while True:
        pull = rows_of(client.query("SELECT * FROM PYTOTALS WHERE CARD = 'c1';"))
        if pull == [["c1", 2, 4.0]] or time.time() > deadline:
            break
        time.sleep(0.2)
    assert pull == [["c1", 2, 4.0]], pull
    print("ksql-python-ng: create, CTAS, insert, SHOW, DESCRIBE, push and pull queries OK")


if __name__ == "__main__":
    main(sys.argv[1])
