//! `POST /v1/dealerships/{dealership_id}/conversations/{conversation_id}/messages`: sends a customer message; answers with the assistant's reply.

rylie_app::http_function!(rylie_app::routes::conversations::customer_message);
