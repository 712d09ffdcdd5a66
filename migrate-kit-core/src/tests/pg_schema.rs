//! The PostgreSQL schema model on a real server: introspection renders
//! every kind of object as the server does, and random schema pairs diff
//! both ways with the rows kept. Each test in a database of its own.

use crate::postgres::{Postgres, ServerSettings};
use crate::tests::pg::TestDb;
use crate::Migrations;

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/postgres/migrations"
);

fn example() -> Migrations {
    Migrations::from_dir(EXAMPLE).unwrap()
}

#[test]
fn introspection_reports_every_kind_of_object_in_the_servers_rendering() {
    let Some(db) = TestDb::create("introspect") else {
        return;
    };
    let mut pg = Postgres::connect(
        &crate::Location::parse(db.url()).unwrap(),
        ServerSettings::default(),
    )
    .unwrap();
    example().upgrade(&mut pg, "head").unwrap();
    pg.client
        .batch_execute(
            "CREATE EXTENSION IF NOT EXISTS citext;
             CREATE TYPE mood AS ENUM ('calm', 'angry');
             CREATE SEQUENCE ticket_numbers START 100;
             CREATE VIEW open_requests AS SELECT id, status FROM repair_requests WHERE status <> 'closed';
             ALTER TABLE users ADD CONSTRAINT users_name_not_blank CHECK (full_name <> '') NOT VALID;
             ALTER TABLE repair_requests ENABLE ROW LEVEL SECURITY;
             CREATE POLICY own_requests ON repair_requests USING (user_id > 0);",
        )
        .unwrap();
    let schema = crate::tools::schema::server_lab::schema_of(&mut pg).unwrap();
    let get = |key: &str| {
        schema
            .objects
            .get(key)
            .cloned()
            .unwrap_or_else(|| panic!("no {key} in {:?}", schema.objects.keys()))
    };
    assert_eq!(
        get("column users.id"),
        "bigint NOT NULL GENERATED ALWAYS AS IDENTITY"
    );
    assert_eq!(
        get("column users.created_at"),
        "timestamp with time zone DEFAULT now() NOT NULL"
    );
    assert_eq!(
        get("constraint users.users_name_not_blank"),
        "CHECK ((full_name <> ''::text)) NOT VALID"
    );
    assert!(get("index ix_repair_requests_status")
        .starts_with("CREATE INDEX ix_repair_requests_status ON public.repair_requests"));
    assert_eq!(get("enum mood"), "'calm', 'angry'");
    assert!(get("sequence ticket_numbers").contains("START 100"));
    assert!(get("view open_requests").starts_with("VIEW AS"));
    assert!(get("function touch_updated_at()").contains("NEW.updated_at := now()"));
    assert!(get("trigger repair_requests.trg_repair_requests_touch")
        .contains("BEFORE UPDATE OF status"));
    assert_eq!(get("policy repair_requests.own_requests"), "(user_id > 0)");
    assert!(get("table repair_requests").contains("row level security"));
    // The ledger, identity sequences and what citext brought are left out.
    let keys: Vec<&String> = schema.objects.keys().collect();
    assert!(
        !keys
            .iter()
            .any(|k| k.contains("alembic_version") || k.contains("migrate_")),
        "{keys:?}"
    );
    assert!(
        !keys.iter().any(|k| k.starts_with("sequence users")),
        "{keys:?}"
    );
    assert!(!keys.iter().any(|k| k.contains("citext")), "{keys:?}");
}

mod diff_round_trip {
    //! Random schema pairs on the server: the diff's upgrade turns A into
    //! B, its downgrade turns B back into A, and the rows stay.

    use crate::postgres::{Postgres, ServerSettings};
    use crate::tests::pg::TestDb;
    use crate::tools::schema::pg_diff::diff;
    use crate::tools::schema::server_lab::schema_of;
    use crate::tools::schema::Renames;
    use proptest::prelude::*;

    const TYPES: [&str; 5] = [
        "integer",
        "bigint",
        "numeric(10,2)",
        "text",
        "character varying(20)",
    ];

    /// One table: its extra columns (type index, not null, with a default),
    /// an index on the first of them, a check on `name`.
    #[derive(Debug, Clone)]
    struct Table {
        columns: Vec<(usize, usize, bool, bool)>,
        index: bool,
        check: bool,
    }

    fn table() -> impl Strategy<Value = Option<Table>> {
        prop::option::weighted(
            0.8,
            (
                prop::collection::vec(
                    (0..4usize, 0..TYPES.len(), any::<bool>(), any::<bool>()),
                    0..4,
                ),
                any::<bool>(),
                any::<bool>(),
            )
                .prop_map(|(mut columns, index, check)| {
                    columns.sort_by_key(|c| c.0);
                    columns.dedup_by_key(|c| c.0);
                    // A NOT NULL column comes with a default: no diff can
                    // invent the values of one added to a table with rows.
                    for column in &mut columns {
                        column.3 |= column.2;
                    }
                    Table {
                        columns,
                        index,
                        check,
                    }
                }),
        )
    }

    fn schema_sql(tables: &[Option<Table>], mood_labels: usize) -> String {
        let labels: Vec<String> = ["'calm'", "'busy'", "'angry'"][..mood_labels]
            .iter()
            .map(|l| (*l).to_owned())
            .collect();
        let mut sql = format!("CREATE TYPE mood AS ENUM ({});\n", labels.join(", "));
        for (i, table) in tables.iter().enumerate() {
            let Some(table) = table else { continue };
            let mut columns = vec![
                "id integer PRIMARY KEY".to_owned(),
                "name text NOT NULL".to_owned(),
                "state mood".to_owned(),
            ];
            for (c, ty, not_null, default) in &table.columns {
                let mut column = format!("c{c} {}", TYPES[*ty]);
                if *default {
                    column += if TYPES[*ty].contains("char") || *ty == 3 {
                        " DEFAULT '7'"
                    } else {
                        " DEFAULT 7"
                    };
                }
                if *not_null {
                    column += " NOT NULL";
                }
                columns.push(column);
            }
            if table.check {
                columns.push(format!("CONSTRAINT t{i}_name_set CHECK (length(name) > 0)"));
            }
            sql += &format!("CREATE TABLE t{i} ({});\n", columns.join(", "));
            if let (true, Some((c, ..))) = (table.index, table.columns.first()) {
                sql += &format!("CREATE INDEX t{i}_c{c} ON t{i} (c{c});\n");
            }
        }
        sql
    }

    /// Rows in every table, with values every type of the pool reads.
    fn fill(pg: &mut Postgres, tables: &[Option<Table>]) {
        for (i, table) in tables.iter().enumerate() {
            let Some(table) = table else { continue };
            let names: Vec<String> = table
                .columns
                .iter()
                .map(|(c, ..)| format!(", c{c}"))
                .collect();
            let values: Vec<&str> = table.columns.iter().map(|_| ", '7'").collect();
            pg.client
                .batch_execute(&format!(
                    "INSERT INTO t{i} (id, name, state{}) VALUES (1, 'a', 'calm'{}), (2, 'b', 'calm'{})",
                    names.concat(),
                    values.concat(),
                    values.concat()
                ))
                .unwrap();
        }
    }

    fn run(pg: &mut Postgres, statements: &[String]) -> Result<(), String> {
        for statement in statements {
            pg.client.batch_execute(statement).map_err(|e| {
                format!(
                    "{statement}: {}",
                    e.as_db_error()
                        .map_or_else(|| e.to_string(), |d| d.message().to_owned())
                )
            })?;
        }
        Ok(())
    }

    fn cases() -> u32 {
        std::env::var("MIGRATE_PG_DIFF_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(12)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

        #[test]
        fn upgrade_reaches_b_and_downgrade_returns_to_a_with_the_rows(
            a in prop::collection::vec(table(), 3),
            b in prop::collection::vec(table(), 3),
            a_moods in 1..=3usize,
            b_moods in 1..=3usize,
        ) {
            let Some(db) = TestDb::create("diffprop") else { return Ok(()) };
            let Some(other) = TestDb::create("diffprop_b") else { return Ok(()) };
            let mut live = Postgres::new(db.connect(), ServerSettings::default());
            let mut target = Postgres::new(other.connect(), ServerSettings::default());
            live.client.batch_execute(&schema_sql(&a, a_moods)).unwrap();
            target.client.batch_execute(&schema_sql(&b, b_moods)).unwrap();
            fill(&mut live, &a);
            let (schema_a, schema_b) = (schema_of(&mut live).unwrap(), schema_of(&mut target).unwrap());
            let d = diff(&schema_a, &schema_b, &Renames::default());
            run(&mut live, &d.upgrade).map_err(|e| TestCaseError::fail(format!("upgrade: {e}\n{}", d.upgrade.join(";\n"))))?;
            let changes = schema_of(&mut live).unwrap().changes_to(&schema_b);
            prop_assert!(changes.is_empty(), "after the upgrade: {changes:?}\n{}", d.upgrade.join(";\n"));
            run(&mut live, &d.downgrade).map_err(|e| TestCaseError::fail(format!("downgrade: {e}\n{}", d.downgrade.join(";\n"))))?;
            let changes = schema_of(&mut live).unwrap().changes_to(&schema_a);
            prop_assert!(changes.is_empty(), "after the downgrade: {changes:?}\n{}", d.downgrade.join(";\n"));
            for (i, table) in a.iter().enumerate() {
                if table.is_some() && b[i].is_some() {
                    prop_assert_eq!(db.column(&format!("SELECT count(*) FROM t{i}")), ["2"]);
                }
            }
        }
    }
}
