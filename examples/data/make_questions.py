"""Writes questions.tsv: short English sentences labelled 1 (question) or 0 (statement), punctuation removed.

Questions and statements share their words; only word order tells them apart ("is the cat asleep" vs "the cat is
asleep"), so a bag-of-words model cannot solve the task and a recurrent one can. Deterministic (seeded).
Run: python examples/data/make_questions.py
"""
import pathlib
import random

SUBJECTS = ["the cat", "the dog", "my sister", "your brother", "the teacher", "the train", "our neighbour",
            "the baby", "the old man", "this song", "the river", "that car", "the little bird", "the doctor"]
PLURAL = ["the children", "my friends", "the students", "the birds", "your parents", "the players", "they", "we"]
ADJ = ["asleep", "hungry", "late", "happy", "tired", "ready", "outside", "at home", "very quiet", "too loud",
       "on time", "still cold", "really fast", "a bit sad"]
VERBS = ["like apples", "play chess", "walk to school", "read books", "sing loudly", "eat fish", "watch films",
         "drink tea", "run every morning", "live near the sea", "speak french", "work on sundays"]


def sentences(rng):
    out = set()
    while len(out) < 440:
        kind = rng.randrange(4)
        if kind == 0:
            s, a = rng.choice(SUBJECTS), rng.choice(ADJ)
            out.add((f"is {s} {a}", 1)); out.add((f"{s} is {a}", 0))
        elif kind == 1:
            s, a = rng.choice(PLURAL), rng.choice(ADJ)
            out.add((f"are {s} {a}", 1)); out.add((f"{s} are {a}", 0))
        elif kind == 2:
            s, v = rng.choice(PLURAL), rng.choice(VERBS)
            out.add((f"do {s} {v}", 1)); out.add((f"{s} do {v}", 0))
        else:
            s, v = rng.choice(SUBJECTS), rng.choice(VERBS)
            w = rng.choice(["can", "will", "should"])
            out.add((f"{w} {s} {v}", 1)); out.add((f"{s} {w} {v}", 0))
    rows = sorted(out)
    rng.shuffle(rows)
    return rows


if __name__ == "__main__":
    rows = sentences(random.Random(7))
    path = pathlib.Path(__file__).with_name("questions.tsv")
    path.write_text("label\tsentence\n" + "".join(f"{y}\t{s}\n" for s, y in rows))
    print(f"wrote {len(rows)} sentences to {path}")
