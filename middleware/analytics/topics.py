"""What people write about: TF-IDF over each person's posts and each discussion's question.

Language-agnostic on purpose (courses are Italian or English, nothing is downloaded): words
are runs of letters of 4 or more (which drops most articles and prepositions of both
languages), cut to their first 6 letters so that "rubrica", "rubriche" and "rubrics" meet;
words common to most documents lose their weight through IDF and `max_df`.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from .activity import CourseActivity

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

WORD = re.compile(r"[^\W\d_]{4,}")
STEM = 6
#: A word of 4 letters or more, captured up to its first STEM letters (one C-level pass).
STEMMED_WORD = re.compile(r"(?<![^\W\d_])([^\W\d_]{4,6})[^\W\d_]*")
#: Documents more frequent than this share carry no topic (used from 20 documents up).
MAX_DF = 0.5


def stems(text: str) -> list[str]:
    """Split `text` into lower-case word stems."""
    return STEMMED_WORD.findall(text.lower())


def surface_forms(text: str) -> dict[str, str]:
    """Map each stem of `text` to the first word it came from, for showing topics."""
    forms: dict[str, str] = {}
    for word in WORD.findall(text.lower()):
        forms.setdefault(word[:STEM], word)
    return forms


@dataclass(frozen=True)
class TopicIndex:
    """TF-IDF vectors of people (all they wrote) and of discussions (their question)."""

    vectorizer: TfidfVectorizer
    terms: np.ndarray
    person_ids: np.ndarray  # sorted; rows of `people`
    people: sparse.csr_matrix
    discussion_ids: np.ndarray  # sorted; rows of `discussions`
    discussions: sparse.csr_matrix
    question_text: dict[int, str]

    def person_row(self, person_id: int) -> int | None:
        slot = int(np.searchsorted(self.person_ids, person_id))
        if slot < len(self.person_ids) and self.person_ids[slot] == person_id:
            return slot
        return None

    def vector(self, text: str) -> sparse.csr_matrix:
        return self.vectorizer.transform([text])


def build_topic_index(activity: CourseActivity) -> TopicIndex:
    """Index the course's texts (private replies stay out: they are not public knowledge)."""
    # Imported here: scikit-learn costs the web processes a second at start-up, and only the
    # worker (and peer ranking) needs it.
    from sklearn.feature_extraction.text import TfidfVectorizer

    by_person: dict[int, list[str]] = {}
    starts: dict[int, str] = {}
    titles = {d.id: d.title for d in activity.discussions}
    for post in activity.posts:
        if post.parent_id is None:
            starts.setdefault(post.discussion_id, post.text)
        if post.author_id is None or post.private:
            continue
        texts = by_person.setdefault(post.author_id, [])
        if post.parent_id is None:
            texts.append(titles.get(post.discussion_id, ""))
        texts.append(post.text)
    person_ids = np.array(sorted(by_person), np.int64)
    discussion_ids = np.array(sorted(titles), np.int64)
    question_text = {d: f"{titles[d]}\n{starts.get(d, '')}" for d in titles}
    person_docs = ["\n".join(by_person[p]) for p in person_ids.tolist()]
    discussion_docs = [question_text[d] for d in discussion_ids.tolist()]
    documents = len(person_docs) + len(discussion_docs)
    vectorizer = TfidfVectorizer(analyzer=stems, sublinear_tf=True, dtype=np.float32,
                                 max_df=MAX_DF if documents >= 20 else 1.0)
    try:
        matrix = vectorizer.fit_transform(person_docs + discussion_docs)
        terms = vectorizer.get_feature_names_out()
    except ValueError:  # no words at all (empty course, or only short words)
        vectorizer = TfidfVectorizer(analyzer=lambda text: ["∅"], dtype=np.float32)
        matrix = vectorizer.fit_transform(person_docs + discussion_docs or [""]) * 0
        terms = vectorizer.get_feature_names_out()
    matrix = sparse.csr_matrix(matrix)
    people = matrix[: len(person_docs)]
    discussions = matrix[len(person_docs): documents]
    return TopicIndex(vectorizer, terms, person_ids, people, discussion_ids, discussions,
                      question_text)


_INDEXES: dict[int, tuple[weakref.ref, TopicIndex]] = {}


def topic_index(activity: CourseActivity) -> TopicIndex:
    """Return the activity's topic index, built once per activity object."""
    cached = _INDEXES.get(id(activity))
    if cached is not None and cached[0]() is activity:
        return cached[1]
    index = build_topic_index(activity)
    key = id(activity)
    _INDEXES[key] = (weakref.ref(activity, lambda _ref: _INDEXES.pop(key, None)), index)
    return index
