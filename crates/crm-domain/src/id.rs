use uuid::Uuid;

/// The one id generator: UUIDv7, so ids sort by creation time and serve as
/// stable pagination cursors.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}
