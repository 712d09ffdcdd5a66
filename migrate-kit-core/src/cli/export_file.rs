//! The export file (`migrate export`, `migrate import`): JSON with the
//! revision it was taken at and every table's rows, each value lossless
//! (integers as numbers, text as strings, reals and blobs tagged). One
//! serde type reads and writes it.

use crate::model::data::{Export, TableData, Value};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The format tag of export files.
const FORMAT: &str = "migrate-export";
const VERSION: u64 = 1;

/// The document. Fields are in the order the file has always had them.
#[derive(Serialize, Deserialize)]
struct ExportFile {
    #[serde(default)]
    exported_at: String,
    format: String,
    revision: Vec<String>,
    tables: Vec<TableFile>,
    version: u64,
}

#[derive(Serialize, Deserialize)]
struct TableFile {
    columns: Vec<String>,
    name: String,
    rows: Vec<Vec<Cell>>,
}

/// A value as JSON.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Cell {
    Null(()),
    Integer(i64),
    Text(String),
    Real { real: String },
    Blob { blob: String },
}

impl From<&Value> for Cell {
    fn from(value: &Value) -> Self {
        match value {
            Value::Null => Cell::Null(()),
            Value::Integer(i) => Cell::Integer(*i),
            Value::Real(r) => Cell::Real {
                real: format!("{r:?}"),
            },
            Value::Text(t) => Cell::Text(t.clone()),
            Value::Blob(b) => Cell::Blob {
                blob: hex::encode(b),
            },
        }
    }
}

impl Cell {
    fn into_value(self) -> Option<Value> {
        Some(match self {
            Cell::Null(()) => Value::Null,
            Cell::Integer(i) => Value::Integer(i),
            Cell::Text(t) => Value::Text(t),
            Cell::Real { real } => Value::Real(real.parse().ok()?),
            Cell::Blob { blob } => Value::Blob(hex::decode(blob).ok()?),
        })
    }
}

/// `export` as the file's JSON text, stamped with `exported_at`.
pub(super) fn to_json(export: &Export, exported_at: String) -> String {
    let file = ExportFile {
        exported_at,
        format: FORMAT.to_owned(),
        revision: export.heads.clone(),
        tables: export
            .tables
            .iter()
            .map(|t| TableFile {
                columns: t.columns.clone(),
                name: t.name.clone(),
                rows: t
                    .rows
                    .iter()
                    .map(|row| row.iter().map(Cell::from).collect())
                    .collect(),
            })
            .collect(),
        version: VERSION,
    };
    serde_json::to_string(&file).unwrap_or_default()
}

/// The export in `text`, read from `path`; the error says what is wrong
/// with it.
pub(super) fn from_json(path: &Path, text: &str) -> Result<Export, String> {
    let bad = |why: &str| format!("{} is not a migrate export: {why}", path.display());
    let file: ExportFile = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    if file.format != FORMAT || file.version != VERSION {
        return Err(bad(&format!(
            "format `{}` version {} (this migrate reads `{FORMAT}` version {VERSION})",
            file.format, file.version
        )));
    }
    let mut tables = Vec::new();
    for table in file.tables {
        let width = table.columns.len();
        let mut rows = Vec::new();
        for row in table.rows {
            if row.len() != width {
                return Err(bad(&format!(
                    "a row of `{}` has {} values for {width} columns",
                    table.name,
                    row.len()
                )));
            }
            let values: Option<Vec<Value>> = row.into_iter().map(Cell::into_value).collect();
            rows.push(values.ok_or_else(|| {
                bad(&format!(
                    "a value in `{}` is a malformed real or blob",
                    table.name
                ))
            })?);
        }
        tables.push(TableData {
            name: table.name,
            columns: table.columns,
            rows,
        });
    }
    Ok(Export {
        heads: file.revision,
        tables,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Export {
        Export {
            heads: vec!["a1".into()],
            tables: vec![TableData {
                name: "items".into(),
                columns: vec!["id".into(), "price".into(), "name".into(), "photo".into()],
                rows: vec![
                    vec![
                        Value::Integer(1),
                        Value::Real(0.1),
                        Value::Text("Винт".into()),
                        Value::Blob(vec![0, 255]),
                    ],
                    vec![Value::Integer(2), Value::Null, Value::Null, Value::Null],
                ],
            }],
        }
    }

    #[test]
    fn values_come_back_exactly_as_they_were_exported() {
        let text = to_json(&sample(), "2026-12-03 07:00:00".into());
        assert_eq!(
            text,
            r#"{"exported_at":"2026-12-03 07:00:00","format":"migrate-export","revision":["a1"],"tables":[{"columns":["id","price","name","photo"],"name":"items","rows":[[1,{"real":"0.1"},"Винт",{"blob":"00ff"}],[2,null,null,null]]}],"version":1}"#
        );
        let back = from_json(Path::new("x.json"), &text).unwrap();
        assert_eq!(back.heads, ["a1"]);
        assert_eq!(back.tables[0].rows, sample().tables[0].rows);
    }

    #[test]
    fn a_broken_file_is_refused_with_what_is_wrong() {
        let path = Path::new("dump.json");
        let cases = [
            ("{", "EOF while parsing"),
            (
                r#"{"format":"other","version":1,"revision":[],"tables":[]}"#,
                "format `other` version 1",
            ),
            (
                r#"{"format":"migrate-export","version":1,"tables":[]}"#,
                "missing field `revision`",
            ),
            (
                r#"{"format":"migrate-export","version":1,"revision":[],"tables":[{"name":"t","columns":["a"],"rows":[[1,2]]}]}"#,
                "a row of `t` has 2 values for 1 columns",
            ),
            (
                r#"{"format":"migrate-export","version":1,"revision":[],"tables":[{"name":"t","columns":["a"],"rows":[[{"blob":"zz"}]]}]}"#,
                "a value in `t` is a malformed real or blob",
            ),
            (
                r#"{"format":"migrate-export","version":1,"revision":[],"tables":[{"name":"t","columns":["a"],"rows":[[1.5]]}]}"#,
                "did not match any variant",
            ),
        ];
        for (text, expected) in cases {
            let error = from_json(path, text).err().unwrap();
            assert!(
                error.starts_with("dump.json is not a migrate export: "),
                "{error}"
            );
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
