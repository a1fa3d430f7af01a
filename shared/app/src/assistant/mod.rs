//! The assistant: answers a dealership's customers from live inventory, in the persona the dealer chose.

pub mod handover;
pub mod hours;
pub mod model;
pub mod offline;
pub mod prompt;
pub mod tools;
pub mod turn;

/// Who writes the assistant's replies.
#[derive(Debug, Clone)]
pub enum Responder {
    /// A chat model (OpenAI or a compatible server), with the inventory tools.
    Model(Box<model::ChatModel>),
    /// Templates over the inventory search: no model configured.
    Offline,
}

impl Responder {
    pub fn from_settings(settings: &model::ModelSettings) -> Self {
        if settings.is_offline() {
            Self::Offline
        } else {
            Self::Model(Box::new(model::ChatModel::new(settings)))
        }
    }
}
