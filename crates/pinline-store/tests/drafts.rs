//! Drafts in the store, on SQLite and PostgreSQL: stored whole per idea, listed newest first with
//! a cursor, edited only while drafts, published once, scoped to their profile.

use pinline_store::testing::TestDatabase;
use pinline_store::{DraftChange, DraftEdit, DraftRow, NewDraft, backend_tests};

backend_tests!(
    drafts_round_trip_with_their_image,
    drafts_are_listed_newest_first_by_cursor,
    a_draft_is_edited_until_published_once,
);

async fn profile(db: &TestDatabase, name: &str) -> String {
    db.store
        .profile_by_name_or_create(name, &format!("profile-{name}"), 0)
        .await
        .expect("profile")
        .id
}

fn draft(profile_id: &str, id: &str, variant: i64, at: i64) -> NewDraft {
    NewDraft {
        row: DraftRow {
            id: id.into(),
            profile_id: profile_id.into(),
            idea_id: "idea-1".into(),
            variant,
            status: DraftRow::DRAFT.into(),
            title: format!("Lemon tart {variant}"),
            description: "Bright and sharp.".into(),
            alt_text: "A lemon tart on a plate".into(),
            link: Some("https://shop.example/tart".into()),
            keywords: r#"["lemon","tart"]"#.into(),
            source: r#"{"kind":"page"}"#.into(),
            generator: r#"{"name":"rules"}"#.into(),
            image_width: 1000,
            image_height: 1500,
            crop: r#"{"x":0,"y":0,"width":400,"height":600}"#.into(),
            post_id: None,
            created_at: at,
            updated_at: at,
        },
        image_jpeg: vec![0xFF, 0xD8, variant as u8, 0xFF, 0xD9],
    }
}

async fn drafts_round_trip_with_their_image(db: TestDatabase) {
    let alpha = profile(&db, "alpha").await;
    let beta = profile(&db, "beta").await;
    let drafts = [draft(&alpha, "d1", 0, 10), draft(&alpha, "d2", 1, 10)];
    db.store.insert_drafts(&drafts).await.expect("insert");
    let read = db.store.draft(&alpha, "d2").await.expect("read");
    assert_eq!(read, Some(drafts[1].row.clone()));
    assert_eq!(
        db.store.draft_image(&alpha, "d2").await.expect("image"),
        Some(drafts[1].image_jpeg.clone())
    );
    // Another profile sees nothing.
    assert_eq!(db.store.draft(&beta, "d2").await.expect("read"), None);
    assert_eq!(
        db.store.draft_image(&beta, "d2").await.expect("image"),
        None
    );
    assert!(!db.store.delete_draft(&beta, "d2").await.expect("delete"));
    assert!(db.store.delete_draft(&alpha, "d2").await.expect("delete"));
    assert_eq!(db.store.draft(&alpha, "d2").await.expect("read"), None);

    // One idea's drafts are stored together or not at all.
    let clash = [draft(&alpha, "d3", 0, 20), draft(&alpha, "d1", 1, 20)];
    assert!(db.store.insert_drafts(&clash).await.is_err());
    assert_eq!(db.store.draft(&alpha, "d3").await.expect("read"), None);
}

async fn drafts_are_listed_newest_first_by_cursor(db: TestDatabase) {
    let alpha = profile(&db, "alpha").await;
    for i in 0..5 {
        db.store
            .insert_drafts(&[draft(&alpha, &format!("d{i}"), 0, 100 + i / 2)])
            .await
            .expect("insert");
    }
    let first = db.store.drafts(&alpha, None, 2).await.expect("page");
    let ids: Vec<&str> = first.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["d4", "d3"]);
    let last = first.last().expect("a draft");
    let second = db
        .store
        .drafts(&alpha, Some((last.created_at, &last.id)), 10)
        .await
        .expect("page");
    let ids: Vec<&str> = second.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["d2", "d1", "d0"]);
}

async fn a_draft_is_edited_until_published_once(db: TestDatabase) {
    let alpha = profile(&db, "alpha").await;
    db.store
        .insert_drafts(&[draft(&alpha, "d1", 0, 10)])
        .await
        .expect("insert");
    let edit = DraftEdit {
        title: Some("Better tart".into()),
        link: Some(None),
        ..DraftEdit::default()
    };
    let DraftChange::Changed(row) = db
        .store
        .edit_draft(&alpha, "d1", &edit, 20)
        .await
        .expect("edit")
    else {
        panic!("a draft is editable");
    };
    assert_eq!(row.title, "Better tart");
    assert_eq!(row.link, None);
    assert_eq!(row.description, "Bright and sharp.");
    assert_eq!(row.updated_at, 20);

    assert!(
        db.store
            .mark_draft_published(&alpha, "d1", "post-1", 30)
            .await
            .expect("publish")
    );
    assert!(
        !db.store
            .mark_draft_published(&alpha, "d1", "post-2", 31)
            .await
            .expect("publish twice"),
        "a draft is published once"
    );
    let published = db
        .store
        .draft(&alpha, "d1")
        .await
        .expect("read")
        .expect("row");
    assert_eq!(published.status, DraftRow::PUBLISHED);
    assert_eq!(published.post_id.as_deref(), Some("post-1"));
    assert!(matches!(
        db.store
            .edit_draft(&alpha, "d1", &edit, 40)
            .await
            .expect("edit"),
        DraftChange::Published(_)
    ));
    assert_eq!(
        db.store
            .edit_draft(&alpha, "nope", &edit, 40)
            .await
            .expect("edit"),
        DraftChange::NotFound
    );
}
