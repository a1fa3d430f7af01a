//! `POST /v1/dealerships/{dealership_id}/conversations/{conversation_id}/replies`: adds a staff member's reply.

rylie_app::http_function!(rylie_app::routes::conversations::staff_reply);
