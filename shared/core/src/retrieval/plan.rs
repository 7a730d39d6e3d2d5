//! The plan of a search: which rankings run, how long each is, and where they are fused, decided
//! from the request and the deployment alone. The retrieve function executes the plan; every
//! combination of mode, embedder, store and feedback setting is a unit test here.

#[cfg(test)]
use crate::config::KEYWORD_QUERY_TERMS;
use crate::config::{EmbeddingProvider, SearchMode};

/// Lexical candidates that hybrid search with the built-in embedder re-scores. That embedder runs
/// in place in microseconds, so a wide pool of lexical candidates is re-scored instead of reading
/// every stored vector (a scan of the whole table per query).
pub const BUILTIN_POOL: u32 = 50;

/// What turns a query into a vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedder {
    /// Embeddings are off.
    Off,
    /// The built-in embedder, computed in place.
    Builtin,
    /// A model behind a provider (an OpenAI-compatible endpoint, Workers AI, Spin's LLM).
    Model,
}

impl Embedder {
    pub fn of(provider: &EmbeddingProvider) -> Embedder {
        match provider {
            EmbeddingProvider::Off => Embedder::Off,
            EmbeddingProvider::Builtin => Embedder::Builtin,
            EmbeddingProvider::OpenAi { .. }
            | EmbeddingProvider::WorkersAi { .. }
            | EmbeddingProvider::SpinLlm { .. } => Embedder::Model,
        }
    }
}

/// What a search asks for, and what the deployment offers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchInputs {
    pub mode: SearchMode,
    pub embedder: Embedder,
    /// The store can rank both ways and fuse the rankings in one statement (Postgres).
    pub store_fuses: bool,
    /// How many of the best lexical passages the query vector is moved towards
    /// (`DOCENT_VECTOR_FEEDBACK_PASSAGES`); 0 for none.
    pub feedback_passages: u32,
    /// How many content words the query has (0: nothing to match).
    pub terms: usize,
    /// How long each ranking is before fusion.
    pub candidates: u32,
}

/// The steps of one search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchPlan {
    /// Both rankings and their fusion in one statement in the store, once the query is embedded;
    /// the steps below run only if it could not be.
    pub fused_in_store: bool,
    /// The lexical ranking, this many candidates long.
    pub lexical: Option<u32>,
    pub vector: Option<VectorRanking>,
    /// The vector ranking runs only if the lexical one found something: nearest neighbours always
    /// exist, so a question whose words match nothing would get arbitrary pages.
    pub vector_needs_lexical_hits: bool,
    pub combine: Combine,
}

/// How the vector ranking is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorRanking {
    /// The lexical candidates re-scored with the built-in embedder (stored vectors where there
    /// are), the query moved towards the best `feedback_passages` of them; `keep` are kept, and the
    /// lexical ranking is cut to as many.
    RescoreLexicalPool { keep: u32, feedback_passages: u32 },
    /// The `limit` nearest stored vectors, the query moved towards the best `feedback_passages`
    /// lexical hits first. When `optional`, a transient failure (a provider outage) leaves the
    /// ranking empty instead of failing the search.
    Nearest { limit: u32, feedback_passages: u32, optional: bool },
}

/// What the search returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    Lexical,
    Vector,
    /// Both rankings by reciprocal rank fusion.
    ReciprocalRankFusion,
}

impl SearchPlan {
    pub fn new(inputs: &SearchInputs) -> SearchPlan {
        let SearchInputs { mode, embedder, store_fuses, feedback_passages, terms, candidates } =
            *inputs;
        let mode = mode.for_query(terms);
        let has_terms = terms > 0;
        let hybrid = mode == SearchMode::Hybrid;
        let builtin_hybrid = hybrid && embedder == Embedder::Builtin;
        let lexical = match mode {
            SearchMode::Vector => None,
            _ if !has_terms => None,
            _ if builtin_hybrid => Some(candidates.max(BUILTIN_POOL)),
            _ => Some(candidates),
        };
        // Feedback moves the query vector towards lexical results, so only a store that does not
        // need the query vector up front can fuse (and only real models: the built-in embedder
        // re-scores a pool instead).
        let fused_in_store = hybrid
            && embedder == Embedder::Model
            && store_fuses
            && feedback_passages == 0
            && has_terms;
        // Without a lexical ranking there are no passages to move towards.
        let feedback_passages = if lexical.is_some() { feedback_passages } else { 0 };
        let vector = match (mode, embedder) {
            (SearchMode::Lexical, _) | (_, Embedder::Off) => None,
            _ if builtin_hybrid => {
                Some(VectorRanking::RescoreLexicalPool { keep: candidates, feedback_passages })
            }
            _ => Some(VectorRanking::Nearest {
                limit: candidates,
                feedback_passages,
                optional: hybrid,
            }),
        };
        let combine = match mode {
            SearchMode::Lexical => Combine::Lexical,
            SearchMode::Vector => Combine::Vector,
            // `Auto` was resolved above.
            SearchMode::Hybrid | SearchMode::Auto => Combine::ReciprocalRankFusion,
        };
        SearchPlan { fused_in_store, lexical, vector, vector_needs_lexical_hits: hybrid, combine }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(mode: SearchMode, embedder: Embedder) -> SearchInputs {
        SearchInputs {
            mode,
            embedder,
            store_fuses: false,
            feedback_passages: 4,
            terms: 2,
            candidates: 30,
        }
    }

    #[test]
    fn hybrid_with_a_model_ranks_both_ways_and_fuses() {
        let plan = SearchPlan::new(&inputs(SearchMode::Hybrid, Embedder::Model));
        assert_eq!(
            plan,
            SearchPlan {
                fused_in_store: false,
                lexical: Some(30),
                vector: Some(VectorRanking::Nearest {
                    limit: 30,
                    feedback_passages: 4,
                    optional: true
                }),
                vector_needs_lexical_hits: true,
                combine: Combine::ReciprocalRankFusion,
            }
        );
    }

    #[test]
    fn a_store_that_fuses_does_so_only_without_feedback_and_with_a_model() {
        let fusing = |embedder, feedback_passages, has_terms: bool| {
            SearchPlan::new(&SearchInputs {
                store_fuses: true,
                feedback_passages,
                terms: if has_terms { 5 } else { 0 },
                ..inputs(SearchMode::Hybrid, embedder)
            })
            .fused_in_store
        };
        assert!(fusing(Embedder::Model, 0, true));
        assert!(!fusing(Embedder::Model, 4, true), "feedback needs the lexical hits first");
        assert!(!fusing(Embedder::Builtin, 0, true), "the built-in embedder re-scores a pool");
        assert!(!fusing(Embedder::Off, 0, true));
        assert!(!fusing(Embedder::Model, 0, false), "no words, no lexical footing");
        for mode in [SearchMode::Lexical, SearchMode::Vector] {
            let plan = SearchPlan::new(&SearchInputs {
                store_fuses: true,
                feedback_passages: 0,
                ..inputs(mode, Embedder::Model)
            });
            assert!(!plan.fused_in_store, "{mode:?}");
        }
        // The separate steps stay planned: they run if the query cannot be embedded.
        let plan = SearchPlan::new(&SearchInputs {
            store_fuses: true,
            feedback_passages: 0,
            ..inputs(SearchMode::Hybrid, Embedder::Model)
        });
        assert_eq!(plan.lexical, Some(30));
        assert_eq!(
            plan.vector,
            Some(VectorRanking::Nearest { limit: 30, feedback_passages: 0, optional: true })
        );
    }

    #[test]
    fn hybrid_with_the_builtin_embedder_rescores_a_wide_lexical_pool() {
        let plan = SearchPlan::new(&inputs(SearchMode::Hybrid, Embedder::Builtin));
        assert_eq!(plan.lexical, Some(BUILTIN_POOL));
        assert_eq!(
            plan.vector,
            Some(VectorRanking::RescoreLexicalPool { keep: 30, feedback_passages: 4 })
        );
        let wide = SearchPlan::new(&SearchInputs {
            candidates: 90,
            ..inputs(SearchMode::Hybrid, Embedder::Builtin)
        });
        assert_eq!(wide.lexical, Some(90), "never fewer lexical candidates than asked");
    }

    #[test]
    fn single_modes_run_one_ranking() {
        let lexical = SearchPlan::new(&inputs(SearchMode::Lexical, Embedder::Model));
        assert_eq!((lexical.lexical, lexical.vector), (Some(30), None));
        assert_eq!(lexical.combine, Combine::Lexical);
        for embedder in [Embedder::Model, Embedder::Builtin] {
            let vector = SearchPlan::new(&inputs(SearchMode::Vector, embedder));
            assert_eq!(vector.lexical, None);
            assert_eq!(
                vector.vector,
                Some(VectorRanking::Nearest { limit: 30, feedback_passages: 0, optional: false }),
                "no lexical passages to move towards, and an outage is an error"
            );
            assert!(!vector.vector_needs_lexical_hits);
            assert_eq!(vector.combine, Combine::Vector);
        }
    }

    #[test]
    fn auto_searches_keywords_lexically_and_questions_both_ways() {
        let plan = |terms| {
            SearchPlan::new(&SearchInputs { terms, ..inputs(SearchMode::Auto, Embedder::Builtin) })
        };
        for keywords in [1, KEYWORD_QUERY_TERMS] {
            assert_eq!(plan(keywords).vector, None, "{keywords} words");
            assert_eq!(plan(keywords).combine, Combine::Lexical);
        }
        let question = plan(KEYWORD_QUERY_TERMS + 1);
        assert!(matches!(question.vector, Some(VectorRanking::RescoreLexicalPool { .. })));
        assert_eq!(question.combine, Combine::ReciprocalRankFusion);
        assert!(question.vector_needs_lexical_hits);
    }

    #[test]
    fn without_embeddings_or_words_a_ranking_is_left_out() {
        for mode in [SearchMode::Hybrid, SearchMode::Vector] {
            assert_eq!(SearchPlan::new(&inputs(mode, Embedder::Off)).vector, None, "{mode:?}");
        }
        let no_words = SearchPlan::new(&SearchInputs {
            terms: 0,
            ..inputs(SearchMode::Hybrid, Embedder::Model)
        });
        assert_eq!(no_words.lexical, None);
        assert!(no_words.vector_needs_lexical_hits, "so hybrid search finds nothing");
    }
}
