{#- Data tests of an incremental model look at the rows written since its tests last passed.

    The incremental facts keep `built_at` on every row, the start of the dbt invocation that
    last wrote it (macros/incremental_months.sql). Once every row-level test of a model passed,
    the rows it had then are known good; a later build writes some rows and keeps the others
    as they were, so its tests need to read only what it wrote. At L a day writes ~50k of the
    10M orders, and re-reading every row cost 11.5 s of the day's dbt thread time (12 unique
    tests 5.3 s, 90 not-null tests 3.8 s, since one `declared_not_null` test per model).

    - `on-run-end` notes, per model, the invocation whose tests of it all passed
      (`audit.model_tests_passed`, keyed by the fingerprint of those tests and of the columns
      declared not null: a test or a constraint added or changed reads every row again); a failed, warned or skipped test leaves the note as it was,
      so the next build tests the rows again;
    - `get_where_subquery` (dbt's hook for a test's `where`) reads the rows with a later
      `built_at`; a uniqueness test the rows whose key such a row has, so a new row that repeats
      an old key is caught.

    A full refresh writes every row: its tests read them all. The test kinds below judge a row
    (or a key's rows) alone; the others (`relationships`: its parent may change without the
    child) and the singular tests always read everything. DuckDB only: Spark's run is not the
    daily path, and its tests read every row. -#}

{% macro row_tests_scoped() -%}
    {{ return(['declared_not_null', 'not_null', 'accepted_values', 'minimum_value', 'unique', 'unique_combination']) }}
{%- endmacro %}

{#- The model a generic test judges, when it is incremental with `built_at`, and the test is of a
    scoped kind; none otherwise. -#}
{% macro _scoped_test_model(test_node) -%}
    {%- set kind = (test_node.get('test_metadata') or {}).get('name') -%}
    {%- set model_node = graph.nodes.get(test_node.get('attached_node') or '') -%}
    {%- if kind in row_tests_scoped() and model_node is not none
        and model_node.config.materialized == 'incremental' and 'built_at' in model_node.columns -%}
        {{ return(model_node) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- The scoped tests of a model and their fingerprint: the note holds only for the same tests. -#}
{% macro _scoped_tests_of(model_id) -%}
    {%- set tests = [] -%}
    {%- for node in graph.nodes.values() | selectattr('resource_type', 'equalto', 'test')
        | selectattr('attached_node', 'equalto', model_id) | sort(attribute='unique_id') -%}
        {%- if _scoped_test_model(node) is not none -%}
            {%- do tests.append(node) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(tests) }}
{%- endmacro %}

{#- The tests' definitions and the columns the model declares not null (declared_not_null reads
    them): a note holds for the same fingerprint only. -#}
{% macro _tests_fingerprint(model_id, tests) -%}
    {%- set parts = [] -%}
    {%- for node in tests -%}
        {%- do parts.append([node.unique_id, node.test_metadata, node.config.severity, node.config.where]) -%}
    {%- endfor -%}
    {%- for column in graph.nodes[model_id].columns.values() | sort(attribute='name') -%}
        {%- do parts.append([column.name, column.constraints]) -%}
    {%- endfor -%}
    {{ return(local_md5(tojson(parts))) }}
{%- endmacro %}

{#- The model the test being compiled judges (its node's id): for a generic test whose `model`
    argument hides the node. -#}
{% macro context_model_id() -%}
    {{ return(model.get('attached_node') or (model.depends_on.nodes | first)) }}
{%- endmacro %}

{% macro tests_passed_table() -%}
    {{ return('audit.model_tests_passed') }}
{%- endmacro %}

{#- on-run-start: the notes' table. -#}
{% macro create_tests_passed_table() -%}
    {{ return(adapter.dispatch('create_tests_passed_table', 'yimei')()) }}
{%- endmacro %}

{% macro duckdb__create_tests_passed_table() -%}
    create schema if not exists audit;
    create table if not exists {{ tests_passed_table() }} (
        model_id varchar not null,
        tests_fingerprint varchar not null,
        tested_through {{ type_local_timestamp() }} not null,
        primary key (model_id, tests_fingerprint)
    )
{%- endmacro %}

{% macro default__create_tests_passed_table() -%}
{%- endmacro %}

{#- on-run-end: the models whose scoped tests all ran and passed in this invocation. -#}
{% macro record_tests_passed(results) -%}
    {{ return(adapter.dispatch('record_tests_passed', 'yimei')(results)) }}
{%- endmacro %}

{% macro duckdb__record_tests_passed(results) -%}
    {%- if execute -%}
    {%- set status_of = {} -%}
    {%- set model_ids = [] -%}
    {%- for result in results if result.node.resource_type == 'test' -%}
        {%- do status_of.update({result.node.unique_id: result.status | string}) -%}
        {%- set model_node = _scoped_test_model(graph.nodes[result.node.unique_id]) -%}
        {%- if model_node is not none and model_node.unique_id not in model_ids -%}
            {%- do model_ids.append(model_node.unique_id) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for model_id in model_ids -%}
        {%- set tests = _scoped_tests_of(model_id) -%}
        {%- set failed = [] -%}
        {%- for node in tests if status_of.get(node.unique_id) != 'pass' -%}
            {%- do failed.append(node.unique_id) -%}
        {%- endfor -%}
        {%- if not failed %}
    insert or replace into {{ tests_passed_table() }}
    values ('{{ model_id }}', '{{ _tests_fingerprint(model_id, tests) }}', {{ built_at() }});
        {%- endif -%}
    {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{% macro default__record_tests_passed(results) -%}
{%- endmacro %}

{#- dbt's hook for the relation a generic test reads (dbt/include/global_project/macros/
    materializations/tests/where_subquery.sql), overridden by the root project: the rows written
    since the model's tests last passed, then the test's own `where`. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set written = rows_written_since_tested(relation) if execute else '' -%}
    {%- if not where and not written -%}
        {{ return(relation) }}
    {%- endif -%}
    {{ return('(select * from ' ~ (written or relation) ~ (' where ' ~ where if where else '')
        ~ ') dbt_subquery') }}
{%- endmacro %}

{#- The rows of `relation` a test of it (the `model` of this context) must read, as a relation;
    empty: every row. -#}
{% macro rows_written_since_tested(relation) -%}
    {{ return(adapter.dispatch('rows_written_since_tested', 'yimei')(relation)) }}
{%- endmacro %}

{% macro default__rows_written_since_tested(relation) -%}
    {{ return('') }}
{%- endmacro %}

{#- The note is read when the test compiles (it moves only at the end of the invocation): with
    none, the test reads the relation itself (a first build: the uniqueness test of the order
    fact had cost 12.5 s at L through a semi join of every key, against ~1.5 s). A semi join,
    not `exists`: DuckDB runs the correlated form as a mark join over every row (the order
    fact's uniqueness on an L day: 1.5-1.8 s, against 0.25-0.3 s). -#}
{% macro duckdb__rows_written_since_tested(relation) -%}
    {%- set model_node = _scoped_test_model(model) -%}
    {%- set notes = adapter.get_relation(database=target.database, schema='audit', identifier='model_tests_passed')
        if model_node is not none else none -%}
    {%- if notes is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set tested_through = run_query(
        "select cast(max(tested_through) as varchar) from " ~ tests_passed_table()
        ~ " where model_id = '" ~ model_node.unique_id ~ "' and tests_fingerprint = '"
        ~ _tests_fingerprint(model_node.unique_id, _scoped_tests_of(model_node.unique_id)) ~ "'"
    ).columns[0].values()[0] -%}
    {%- if tested_through is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set since = "cast('" ~ tested_through ~ "' as " ~ type_local_timestamp() ~ ")" -%}
    {%- set metadata = model.test_metadata -%}
    {%- if metadata.name in ('unique', 'unique_combination') -%}
        {#- every row of a key written since: a new row repeating an old key is caught -#}
        {%- set key = ([metadata.kwargs.column_name] if metadata.name == 'unique'
            else metadata.kwargs.columns) | join(', ') -%}
        {{ return('(select * from ' ~ relation ~ ' semi join (select ' ~ key ~ ' from ' ~ relation
            ~ ' where built_at > ' ~ since ~ ') as written using (' ~ key ~ ')) as written_since') }}
    {%- endif -%}
    {{ return('(select * from ' ~ relation ~ ' where built_at > ' ~ since ~ ') as written_since') }}
{%- endmacro %}
