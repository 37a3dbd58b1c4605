"""The Spark engine's side of yimei outside dbt: where Spark keeps the tables dbt builds."""
