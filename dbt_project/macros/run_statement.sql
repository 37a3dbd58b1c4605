{#- A statement that returns no rows (DDL, DML), run now. dbt's run_query fetches a result,
    which the Spark Thrift server (PyHive) does not give for DDL: dbt-spark fails with
    "'NoneType' object is not iterable" where the session method returns an empty one. -#}
{% macro run_statement(sql) -%}
    {%- do adapter.execute(sql, auto_begin=false, fetch=false) -%}
{%- endmacro %}
