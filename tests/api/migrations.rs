use crm_storage::{migrations, Database};

/// Up, down, up again: every down migration undoes its up.
#[tokio::test]
async fn migrations_run_up_down_up() {
    let app = crm_tests::spawn_app().await;
    // A second pool on the same database: the app's own stays untouched.
    let db = Database::connect(&app.database_url, 2).unwrap();
    assert!(
        migrations::run_pending(&db).unwrap().is_empty(),
        "the app migrated at start"
    );
    let reverted = migrations::revert_all(&db).unwrap();
    assert!(!reverted.is_empty());
    let applied = migrations::run_pending(&db).unwrap();
    assert_eq!(applied.len(), reverted.len());
    // The audit log went with the tables, the admin's log-in with it.
    app.forget_audited_requests();
}
