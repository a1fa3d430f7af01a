//! `GET /v1/dealerships/{dealership_id}/conversations/{conversation_id}`: reads a conversation with its messages and decision traces.

rylie_app::http_function!(rylie_app::routes::conversations::get);
