//! Defender advanced-hunting table schemas (table → ordered columns with KQL types).
//!
//! The documented schemas are embedded at build time from `data/schemas.json` (a copy of
//! `shared/kql/schemas.json`) so the crate is self-contained.

use std::collections::BTreeMap;

use crate::ast::TypeName;

/// The embedded Defender schema JSON.
pub const DEFENDER_SCHEMAS_JSON: &str = include_str!("../data/schemas.json");

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub ty: TypeName,
}

/// Known tables plus the built-in tabular functions the checker should accept.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    tables: BTreeMap<String, Vec<Column>>,
}

impl Schema {
    /// The embedded Defender XDR schema. Every table also gets `TimeGenerated:datetime`, because
    /// many hunting queries are written for the Sentinel copies of these tables.
    pub fn defender() -> Schema {
        let mut s = Schema::from_json(DEFENDER_SCHEMAS_JSON).unwrap_or_default();
        for cols in s.tables.values_mut() {
            if !cols.iter().any(|c| c.name == "TimeGenerated") {
                cols.push(Column { name: "TimeGenerated".into(), ty: TypeName::DateTime });
            }
        }
        s
    }

    /// Parse `{ "Table": [ {"name": "...", "type": "..."}, ... ], ... }`.
    pub fn from_json(text: &str) -> Result<Schema, String> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("schema JSON: {e}"))?;
        let obj = v.as_object().ok_or("schema JSON: expected an object of tables")?;
        let mut tables = BTreeMap::new();
        for (table, cols) in obj {
            let arr = cols.as_array().ok_or_else(|| format!("schema JSON: table {table}: expected an array"))?;
            let mut out = Vec::with_capacity(arr.len());
            for c in arr {
                let name = c
                    .get("name")
                    .and_then(|n| n.as_str())
                    .ok_or_else(|| format!("schema JSON: table {table}: column without name"))?;
                let ty_text = c.get("type").and_then(|t| t.as_str()).unwrap_or("dynamic");
                let ty = TypeName::from_name(ty_text).unwrap_or(TypeName::Dynamic);
                out.push(Column { name: name.to_string(), ty });
            }
            tables.insert(table.clone(), out);
        }
        Ok(Schema { tables })
    }

    /// Add or replace a table (tests, custom sandboxes).
    pub fn insert_table(&mut self, name: &str, columns: Vec<Column>) {
        self.tables.insert(name.to_string(), columns);
    }

    /// Columns of a table, exact (case-sensitive) name.
    pub fn table(&self, name: &str) -> Option<&[Column]> {
        self.tables.get(name).map(Vec::as_slice)
    }

    pub fn table_names(&self) -> impl Iterator<Item = &str> {
        self.tables.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.tables.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_schema_loads() {
        let s = Schema::defender();
        assert!(s.len() >= 50);
        let cols = s.table("DeviceProcessEvents").expect("table");
        assert!(cols.iter().any(|c| c.name == "Timestamp" && c.ty == TypeName::DateTime));
        assert!(cols.iter().any(|c| c.name == "TimeGenerated"));
    }
}
