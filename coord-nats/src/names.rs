//! Names on the server: one stream and three buckets per application, one
//! subject per event type, one durable consumer per handler (and node).

use coord_core::cluster::Scope;

/// Letters, digits, `-` and `_` only: what stream, bucket, consumer names and
/// subject tokens all accept. `::` becomes `__` so handler names stay readable.
pub(crate) fn token(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The server-side names of one application.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    app: String,
}

impl Names {
    pub(crate) fn new(app: &str) -> Self {
        Self { app: token(app) }
    }

    /// The stream of distributed events.
    pub(crate) fn stream(&self) -> String {
        format!("COORD_{}", self.app.to_uppercase())
    }

    /// Every event subject of the application.
    pub(crate) fn all_events(&self) -> String {
        format!("coord.{}.events.>", self.app)
    }

    /// The subject of one event type.
    pub(crate) fn event(&self, event: &str) -> String {
        format!("coord.{}.events.{}", self.app, token(event))
    }

    /// The durable consumer of one handler: shared by every node for `once`.
    pub(crate) fn consumer(&self, scope: Scope, handler: &str, node: &str) -> String {
        match scope {
            Scope::Once => format!("once_{}", token(handler)),
            Scope::Node => format!("node_{}_{}", token(node), token(handler)),
        }
    }

    /// The bucket of singleton leases.
    pub(crate) fn leases(&self) -> String {
        format!("coord_{}_leases", self.app)
    }

    /// The bucket of node heartbeats.
    pub(crate) fn nodes(&self) -> String {
        format!("coord_{}_nodes", self.app)
    }

    /// The bucket of distributed events' dead letters.
    pub(crate) fn dead_letters(&self) -> String {
        format!("coord_{}_dead_letters", self.app)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_names_become_valid_consumer_names() {
        let names = Names::new("training pipeline");
        assert_eq!(names.stream(), "COORD_TRAINING_PIPELINE");
        assert_eq!(
            names.consumer(Scope::Once, "Promotion::on_model.trained", "n1"),
            "once_Promotion__on_model_trained"
        );
        assert_eq!(
            names.consumer(Scope::Node, "A::b", "host.1-42"),
            "node_host_1-42_A__b"
        );
        assert_eq!(
            names.event("games_collected"),
            "coord.training_pipeline.events.games_collected"
        );
    }
}
