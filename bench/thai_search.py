"""Searching Thai transcripts: word segmentation or a trigram index (issue 26, part 3).

Thai is written without spaces between words, so PostgreSQL's parser makes a whole sentence one
token and a word inside it is never found. This compares, on the same rows and queries:

* ``english``: today's index, ``to_tsvector('english', text)`` (the baseline);
* ``newmm``: the text cut into words by PyThaiNLP's newmm at index time, ``to_tsvector('simple',
  ...)``, the query cut the same way and searched as a phrase;
* ``trigram``: pg_trgm's GIN index on the text, the query a substring (``ILIKE``).

Recall and precision come from a treebank whose words a person marked (UD Thai-PUD, 1000
sentences): the queries are its content words (nouns, proper nouns, verbs, adjectives, numbers:
what a reader would look for) of two letters or more; a sentence is relevant to a query when
one of its marked words is the query. Index size and build time come from real transcripts too:
the sentences of Common Voice Thai's test set (what its speakers read out, exactly).

    git --git-dir /work/.mirror/UniversalDependencies+UD_Thai-PUD/repo show \\
        HEAD:th_pud-ud-test.conllu > var/th_pud.conllu
    git --git-dir /work/.mirror/vistec-AI+commonvoice-th/repo show \\
        HEAD:labels/test-unique.tsv > var/th_cv_test.tsv
    .venv/bin/python bench/thai_search.py --ud var/th_pud.conllu --cv var/th_cv_test.tsv \\
        --database postgres://postgres@127.0.0.1/thai_bench

It creates and drops its own tables in that database (which must exist; pg_trgm is created
there if missing).
"""

from __future__ import annotations

import argparse
import csv
import platform
import re
import time
from collections import defaultdict

import psycopg
from pythainlp.tokenize import word_tokenize

CONTENT = {"NOUN", "PROPN", "VERB", "ADJ", "NUM"}
THAI = re.compile(r"[\u0e00-\u0e7f]")
SYSTEMS = ("english", "newmm", "trigram")


def read_ud(path: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """(sentence text, [(word, upos), ...]) for every sentence of a CoNLL-U file."""
    sentences, text, words = [], "", []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# text = "):
                text = line[len("# text = ") :]
            elif line and not line.startswith("#"):
                cols = line.split("\t")
                if cols[0].isdigit():
                    words.append((cols[1], cols[3]))
            elif not line and words:
                sentences.append((text, words))
                text, words = "", []
    if words:
        sentences.append((text, words))
    return sentences


def read_cv(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [row["sentence"] for row in csv.DictReader(f, delimiter="\t")]


def segmented(text: str) -> str:
    return " ".join(w for w in word_tokenize(text, engine="newmm") if w.strip())


def build(conn, table: str, texts: list[str], system: str) -> dict[str, float]:
    """Load the rows and build one system's index; its size and the times it took."""
    started = time.perf_counter()
    docs = [segmented(t) for t in texts] if system == "newmm" else texts
    segment_s = time.perf_counter() - started
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(f"CREATE TABLE {table} (id serial PRIMARY KEY, text text, doc text)")
    with conn.cursor().copy(f"COPY {table} (text, doc) FROM STDIN") as copy:
        for text, doc in zip(texts, docs, strict=True):
            copy.write_row((text, doc))
    expression = {
        "english": "to_tsvector('english'::regconfig, text)",
        "newmm": "to_tsvector('simple'::regconfig, doc)",
        "trigram": "text gin_trgm_ops",
    }[system]
    started = time.perf_counter()
    conn.execute(f"CREATE INDEX {table}_idx ON {table} USING gin ({expression})")
    index_s = time.perf_counter() - started
    size = conn.execute(f"SELECT pg_relation_size('{table}_idx')").fetchone()[0]
    return {"segment_s": segment_s, "index_s": index_s, "index_kb": size / 1024}


def search(conn, table: str, system: str, query: str) -> set[int]:
    if system == "english":
        sql = f"""SELECT id FROM {table}
            WHERE to_tsvector('english'::regconfig, text) @@ websearch_to_tsquery('english', %s)"""
        return {r[0] for r in conn.execute(sql, [query])}
    if system == "newmm":
        # the query's words as a phrase: a word the segmenter splits is found split the same way
        words = [w for w in word_tokenize(query, engine="newmm") if w.strip()]
        sql = f"""SELECT id FROM {table}
            WHERE to_tsvector('simple'::regconfig, doc) @@ phraseto_tsquery('simple', %s)"""
        return {r[0] for r in conn.execute(sql, [" ".join(words)])}
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    sql = f"SELECT id FROM {table} WHERE text ILIKE %s"
    return {r[0] for r in conn.execute(sql, [f"%{escaped}%"])}


def gold_queries(sentences) -> dict[str, set[int]]:
    """Each content word of the treebank -> the ids (1-based) of the sentences that have it."""
    relevant: dict[str, set[int]] = defaultdict(set)
    for number, (_, words) in enumerate(sentences, start=1):
        for word, upos in words:
            if upos in CONTENT and len(word) >= 2 and THAI.search(word):
                relevant[word].add(number)
    return relevant


def score(conn, sentences) -> None:
    texts = [text for text, _ in sentences]
    relevant = gold_queries(sentences)
    print(f"UD Thai-PUD: {len(texts)} sentences, {len(relevant)} distinct content words as queries")
    print("system    recall  precision  found-all-words  query-ms  index-kB  build-s")
    for system in SYSTEMS:
        figures = build(conn, "ud_" + system, texts, system)
        found = wanted = right = complete = 0
        started = time.perf_counter()
        misses: list[str] = []
        for query, ids in relevant.items():
            hits = search(conn, "ud_" + system, system, query)
            found += len(hits)
            right += len(hits & ids)
            wanted += len(ids)
            complete += ids <= hits
            if not ids <= hits and len(misses) < 8:
                misses.append(query)
        query_ms = (time.perf_counter() - started) / len(relevant) * 1000
        build_s = figures["segment_s"] + figures["index_s"]
        print(
            f"{system:8}  {right / wanted:6.1%}  {right / max(found, 1):9.1%}  "
            f"{complete / len(relevant):15.1%}  {query_ms:8.2f}  {figures['index_kb']:8.0f}  "
            f"{build_s:7.2f}"
        )
        print(f"          missed, for example: {' '.join(misses)}")


def cv_figures(conn, texts: list[str]) -> None:
    """Index size and build time on real transcripts, and where the two Thai systems differ."""
    print(f"\nCommon Voice Thai test: {len(texts)} sentences, {sum(map(len, texts))} characters")
    print("system    index-kB  segment-s  index-s")
    for system in SYSTEMS:
        figures = build(conn, "cv_" + system, texts, system)
        print(
            f"{system:8}  {figures['index_kb']:8.0f}  {figures['segment_s']:9.2f}  "
            f"{figures['index_s']:7.2f}"
        )
    # the transcripts' own words (as newmm cuts them), searched both ways
    words = sorted({w for t in texts for w in word_tokenize(t, engine="newmm") if len(w) >= 2})
    words = [w for w in words if THAI.search(w)][::10]
    only_trigram = only_newmm = both = 0
    for word in words:
        a, b = search(conn, "cv_newmm", "newmm", word), search(conn, "cv_trigram", "trigram", word)
        only_newmm += len(a - b)
        only_trigram += len(b - a)
        both += len(a & b)
    print(
        f"{len(words)} of its words searched: both find {both} rows; only trigram {only_trigram} "
        f"(the word inside a longer one); only newmm {only_newmm}"
    )


def stemmed_figures(conn, rows: int = 100_000) -> None:
    """A French search over ``rows`` segments: stemmed per query, or through the index on
    to_tsvector(search_config, text) that migration 0010 builds."""
    conn.execute("DROP TABLE IF EXISTS fr_segments")
    conn.execute(
        "CREATE TABLE fr_segments AS SELECT g AS id, (CASE WHEN g %% 2 = 0 THEN 'french' "
        "ELSE 'english' END)::regconfig AS search_config, 'Nous avons décidé de reporter la "
        "réunion ' || g || ' à jeudi.' || CASE WHEN g %% 1000 = 0 THEN ' Les chevaux.' ELSE '' "
        "END AS text FROM generate_series(1, %s) g",
        [rows],
    )
    query = """SELECT count(*) FROM fr_segments WHERE search_config = 'french'::regconfig
        AND to_tsvector(search_config, COALESCE(text, '')) @@ websearch_to_tsquery('french', %s)"""
    print(f'\nA French search ("cheval") over {rows} segments, half of them French:')
    for label in ("stemmed per query", "indexed"):
        if label == "indexed":
            started = time.perf_counter()
            conn.execute(
                "CREATE INDEX fr_idx ON fr_segments "
                "USING gin (to_tsvector(search_config, COALESCE(text, '')))"
            )
            conn.execute("ANALYZE fr_segments")
            print(f"  index built in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        found = conn.execute(query, ["cheval"]).fetchone()[0]
        print(f"  {label}: {found} found in {(time.perf_counter() - started) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ud", required=True, help="UD Thai-PUD's .conllu file")
    parser.add_argument("--cv", required=True, help="commonvoice-th's labels/test-unique.tsv")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1/thai_bench")
    args = parser.parse_args()
    print(f"{platform.node()} {platform.processor() or platform.machine()}")
    word_tokenize("อุ่นเครื่อง", engine="newmm")  # the dictionary loads once, not in a figure
    with psycopg.connect(args.database, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        try:
            score(conn, read_ud(args.ud))
            cv_figures(conn, read_cv(args.cv))
            stemmed_figures(conn)
        finally:
            for system in SYSTEMS:
                conn.execute(f"DROP TABLE IF EXISTS ud_{system}, cv_{system}")
            conn.execute("DROP TABLE IF EXISTS fr_segments")


if __name__ == "__main__":
    main()
