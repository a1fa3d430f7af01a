//! `PATCH /v1/dealerships/{dealership_id}/conversations/{conversation_id}`: changes a conversation's status, assignee or the assistant's pause.

rylie_app::http_function!(rylie_app::routes::conversations::update);
