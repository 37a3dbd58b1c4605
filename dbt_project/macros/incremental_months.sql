{#- Incremental facts and marts rewritten a month at a time (partition overwrite).

    A month-partitioned model rewrites whole months: those its upstream rewrote since its own
    last build, and those holding an entity whose reference data changed since then
    (int_reference_changes); the order facts write them copy-on-write (copy_on_write_rows
    below: the changed rows recomputed, the others copied as built). On DuckDB the strategy is
    delete+insert with the month as the key, on Spark insert_overwrite of the month partitions
    (partition_overwrite() below): the same SQL, the same result. A month that lost every row
    upstream is emptied by the post-hook delete_emptied_months. Every row carries `built_at`,
    the start of the dbt invocation that last changed it: the high-water mark of the models
    built on it. -#}

{#- The strategy of a month-partitioned model on this engine. -#}
{% macro partition_overwrite_strategy() -%}
    {{ return(adapter.dispatch('partition_overwrite_strategy', 'yimei')()) }}
{%- endmacro %}

{% macro default__partition_overwrite_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__partition_overwrite_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}

{#- The config of a model rewritten a partition (a month) at a time on `month_column`:
    `{{ config(post_hook=..., **partition_overwrite('created_month')) }}`. -#}
{% macro partition_overwrite(month_column) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': partition_overwrite_strategy(),
        'unique_key': month_column,
        'partition_by': [month_column],
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}

{#- The config of a mart rebuilt a month at a time from the orders of `upstream` (the months
    whose rows changed since the last build: month_digests and months_to_recompute below),
    partitioned on `month`; the months `upstream` no longer has are emptied after the build.
    `{{ config(**monthly_mart('int_orders__completed', 'completed_month')) }}` -#}
{% macro monthly_mart(upstream, upstream_month_column) -%}
    {%- set config = partition_overwrite('month') -%}
    {%- do config.update({'post_hook': "{{ delete_emptied_months(ref('" ~ upstream ~ "'), 'month', '"
        ~ upstream_month_column ~ "') }}"}) -%}
    {{ return(config) }}
{%- endmacro %}

{#- The config of an order or review fact written copy-on-write (copy_on_write_rows below,
    copy_on_write_months in macros/incremental_versions.sql; the persona facts too, on the buyer:
    macros/incremental_buyers.sql). Spark overwrites the months the
    changed keys touch, their other rows copied as built; DuckDB deletes and inserts rows in
    place, so it writes the changed keys' rows only (delete+insert on the key): at L a day's
    49k orders instead of the 1.27M of the three months they touch, rewritten three times
    (`stg_orders__orders`, `int_orders__enriched`, `int_order_compliance`: 19 s of the day).
    `{{ config(post_hook=..., **copy_on_write('order_id')) }}` -#}
{% macro copy_on_write(key, month_column='created_month') -%}
    {%- if writes_whole_months() -%}
        {{ return(partition_overwrite(month_column)) }}
    {%- endif -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': key,
        'partition_by': [month_column],
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}

{#- Whether a copy-on-write build writes whole months (a partition overwrite, Spark's: the
    untouched rows of a month are copied into it), or only the rows that changed (DuckDB). -#}
{% macro writes_whole_months() -%}
    {{ return(partition_overwrite_strategy() == 'insert_overwrite') }}
{%- endmacro %}

{#- Post-hook of a copy-on-write model with one row per key of `upstream`: the rows of keys
    `upstream` no longer has (withdrawn, no longer completed) go. Spark rewrote their months
    without them and only has to empty a month left with no row (delete_emptied_months);
    DuckDB wrote the changed keys only, and deletes the others here (an anti join on the key).

    A gone key's row is one this build did not write (it writes the keys `upstream` has): in a
    first build there is none, and nothing is read (the anti join of every key had cost 2.1 s
    per order fact there at L). Given `changed_in` (`upstream` itself, or the table `upstream`
    filters), the anti join reads only the months where a key can have gone: those
    `changed_in` rewrote since this model's previous build, and those `upstream` no longer has.
    A key leaves a month only by a change written there: its own new row (a status that is no
    longer completed), or, when it lost every version, the new `built_at` of that month's other
    rows (copy_on_write_months in macros/incremental_versions.sql). At L the anti join of every
    key had cost 1.0-1.35 s a day per model (10M against 10M). -#}
{% macro delete_keys_gone_upstream(upstream, key, month_column='created_month', changed_in=none) -%}
    {{ return(adapter.dispatch('delete_keys_gone_upstream', 'yimei')(upstream, key, month_column, changed_in)) }}
{%- endmacro %}

{% macro default__delete_keys_gone_upstream(upstream, key, month_column, changed_in) -%}
    {%- set here = "select " ~ key ~ " from " ~ this ~ " where built_at < " ~ built_at() -%}
    {%- set kept = "select " ~ key ~ " from " ~ upstream -%}
    {%- if changed_in is not none -%}
        {%- set months -%}
            select {{ month_column }} from {{ changed_in }} where built_at > {{ previous_built_at() }}
            union
            select {{ month_column }} from {{ this }}
            where {{ month_column }} not in (
                select distinct {{ month_column }} from {{ upstream }} where {{ month_column }} is not null
            )
        {%- endset -%}
        {%- set here = here ~ " and " ~ month_column ~ " in (" ~ months ~ ")" -%}
        {%- set kept = kept ~ " where " ~ month_column ~ " in (" ~ months ~ ")" -%}
    {%- endif -%}
    {{ delete_rows(
        key ~ " in (select " ~ key ~ " from (" ~ here ~ ") as here anti join (" ~ kept
        ~ ") as kept using (" ~ key ~ "))"
    ) }}
{%- endmacro %}

{% macro spark__delete_keys_gone_upstream(upstream, key, month_column, changed_in) -%}
    {{ delete_emptied_months(upstream, month_column) }}
{%- endmacro %}

{#- The instant this dbt invocation started, as a timestamp: what `built_at` holds. -#}
{% macro built_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ type_local_timestamp() }})
{%- endmacro %}

{#- The newest `built_at` of the rows of this model that this invocation did not write, in its
    post-hooks: rows upstream built after it are new to it (an earlier build, if this one
    rewrote every row of the last: more to read, nothing missed). With no such row (a first
    build, or every row rewritten), this build's own: nothing upstream is new to a row it wrote. -#}
{% macro previous_built_at() -%}
    (select coalesce(max(built_at), {{ built_at() }}) from {{ this }} where built_at < {{ built_at() }})
{%- endmacro %}

{#- The newest `built_at` of this model: rows upstream built after it are new to it. -#}
{% macro last_built_at() -%}
    (select coalesce(max(built_at), cast('1970-01-01' as {{ type_local_timestamp() }})) from {{ this }})
{%- endmacro %}

{#- Months of `upstream` that it rewrote since this model's last build. -#}
{% macro months_rebuilt_in(upstream, month_column) -%}
    select {{ month_column }} from {{ upstream }} where built_at > {{ last_built_at() }}
{%- endmacro %}

{#- The months of `upstream` that it rewrote since this model's last build, or that it no longer
    has although this model does (every row withdrawn or moved away), each with the `reach`
    months either side: for a model whose rows depend on upstream rows up to `reach` months away
    (GOV-07's windows cross month ends). -#}
{% macro months_rebuilt_around(upstream, month_column, reach=0) -%}
    with touched as (
        {{ months_rebuilt_in(upstream, month_column) }}

        union

        select {{ month_column }} from {{ this }}
        where {{ month_column }} not in (
            select distinct {{ month_column }} from {{ upstream }}
            where {{ month_column }} is not null
        )
    )
    select {{ month_column }} from touched
    {%- for months in range(-reach, reach + 1) if months != 0 %}
    union
    select cast({{ dbt.dateadd('month', months, month_column) }} as date) from touched
    {%- endfor %}
{%- endmacro %}

{#- Post-hook: months this model holds that `upstream` no longer has (every order of the
    month withdrawn or moved) are removed; a partition overwrite only replaces the months
    it writes. -#}
{% macro delete_emptied_months(upstream, month_column, upstream_month_column=none) -%}
    {{ delete_rows(
        month_column ~ " not in (select distinct " ~ (upstream_month_column or month_column)
        ~ " from " ~ upstream ~ " where " ~ (upstream_month_column or month_column) ~ " is not null)"
    ) }}
{%- endmacro %}

{#- Post-hook: remove the rows of this model that match `predicate`. -#}
{% macro delete_rows(predicate) -%}
    {{ return(adapter.dispatch('delete_rows', 'yimei')(predicate)) }}
{%- endmacro %}

{% macro default__delete_rows(predicate) -%}
    delete from {{ this }} where {{ predicate }}
{%- endmacro %}

{#- Spark's Parquet tables know no DELETE: the partitions holding rows that match `predicate` are
    rewritten without them. The rows kept are staged in a table first (Spark refuses to
    overwrite a table the same statement reads), then each partition is overwritten statically,
    which also empties a partition left with no row. A post-hook: returns the SQL dbt runs last. -#}
{% macro spark__delete_rows(predicate) -%}
    {%- set partition_column = config.get('partition_by')[0] -%}
    {%- set kept = this.incorporate(path={'identifier': this.identifier ~ '__kept'}) -%}
    {%- set partitions = run_query(
        "select distinct cast(" ~ partition_column ~ " as string) from " ~ this
        ~ " where " ~ predicate
    ) if execute else none -%}
    {%- if partitions and partitions.rows -%}
        {%- set columns = adapter.get_columns_in_relation(this)
            | map(attribute='name') | reject('equalto', partition_column) | join(', ') -%}
        {%- set in_partitions = "'" ~ partitions.columns[0].values() | join("', '") ~ "'" -%}
        {%- do run_statement('drop table if exists ' ~ kept) -%}
        {%- do run_statement(
            'create table ' ~ kept ~ ' using parquet as select * from ' ~ this
            ~ ' where cast(' ~ partition_column ~ ' as string) in (' ~ in_partitions ~ ')'
            ~ ' and not coalesce(' ~ predicate ~ ', false)'
        ) -%}
        {%- for partition in partitions.columns[0].values() -%}
            {%- do run_statement(
                'insert overwrite table ' ~ this ~ ' partition (' ~ partition_column ~ " = '"
                ~ partition ~ "') select " ~ columns ~ ' from ' ~ kept
                ~ ' where cast(' ~ partition_column ~ " as string) = '" ~ partition ~ "'"
            ) -%}
        {%- endfor -%}
        {%- do run_statement('drop table if exists ' ~ kept) -%}
    {%- endif %}
    select 1
{%- endmacro %}

{#- A hash of the given columns of a row; bit_xor of such hashes is an order-independent digest
    of a set of rows. -#}
{% macro row_hash(columns) -%}
    {{ return(adapter.dispatch('row_hash', 'yimei')(columns)) }}
{%- endmacro %}

{% macro default__row_hash(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__row_hash(columns) -%}
    xxhash64({{ columns | join(', ') }})
{%- endmacro %}

{#- Month-grain marts: a mart row carries `source_digest`, the digest of the fact rows its month
    was computed from. A build recomputes the months whose digest moved (rows added, changed,
    withdrawn or moved to another month all move it), plus `months_after` months after each
    (growth reads earlier months), and leaves the others; a month with no fact row left is removed
    (delete_emptied_months on the digests). -#}

{#- One row per month of `relation`: whether the deliveries cover the month whole
    (int_orders__month_coverage, marts.md `month_complete`), and the digest of the `columns` its
    rows hold there together with that flag, so a month recomputes when it becomes complete. -#}
{% macro month_digests(relation, month_column, columns) -%}
    select
        digests.month,
        coalesce(coverage.month_complete, false) as month_complete,
        {{ row_hash(['digests.rows_digest', 'coalesce(coverage.month_complete, false)']) }} as source_digest
    from (
        select
            {{ month_column }} as month,
            bit_xor({{ row_hash(columns) }}) as rows_digest
        from {{ relation }}
        where {{ month_column }} is not null
        group by {{ month_column }}
    ) as digests
    left join {{ ref('int_orders__month_coverage') }} as coverage
        on digests.month = coverage.month
{%- endmacro %}

{#- The months of `digests` (a CTE of month_digests) whose digest differs from the one this mart
    was built from, and those `months_after` (e.g. [1, 12]) later (a month without data among
    them yields no row). In a full build: every month. -#}
{% macro months_to_recompute(digests, months_after=[]) -%}
    {%- if is_incremental() -%}
    with changed as (
        select {{ digests }}.month
        from {{ digests }}
        left join (select distinct month, source_digest from {{ this }}) as built
            on {{ digests }}.month = built.month
        where built.source_digest is null or built.source_digest != {{ digests }}.source_digest
    )
    select month from changed
    {%- for months in months_after %}
    union
    select cast({{ dbt.dateadd('month', months, 'changed.month') }} as date) from changed
    {%- endfor %}
    {%- else -%}
    select month from {{ digests }}
    {%- endif %}
{%- endmacro %}

{#- Row-grain copy-on-write, for a model with one row per key of its upstream fact (the order
    facts: int_orders__enriched, int_order_compliance). A build recomputes the rows of the keys
    the upstream rewrote since its own last build (their `built_at`, which moves only on
    changed rows: macros/incremental_versions.sql) and of those whose reference data changed
    since then, and writes those rows: on DuckDB in place of their old ones, on Spark with the
    other rows of their months as built (one partition overwrite per month, copy_on_write()).
    At L a day's orders are 49k of the 1.27M in the three months they touch; only they get a new
    `built_at`, so the rules downstream validate only them. -#}

{#- The keys of `upstream` to recompute: rewritten since this model's last build, or holding an
    entity (`entity_column` of `entity_kind` in int_reference_changes) whose reference data
    changed since then; `references` is a list of (entity_column, entity_kind). -#}
{% macro keys_changed_upstream(upstream, key, references=[]) -%}
    select {{ key }} from {{ upstream }}
    where built_at > {{ last_built_at() }}
    {%- for entity_column, entity_kind in references %}

    union

    select {{ key }} from {{ upstream }}
    where {{ entity_column }} in (
        select entity_key from {{ ref('int_reference_changes') }}
        where entity_kind = '{{ entity_kind }}' and changed_at > {{ last_built_at() }}
    )
    {%- endfor %}
{%- endmacro %}

{#- The rows to write: `recomputed` (the rows of `changed_keys`, a CTE of keys_changed_upstream;
    every row in a full build) and, in an incremental build on an engine that writes whole
    months, the other rows of every month those keys are in or were in, as built, where their
    key is still in `upstream` in that month (a key withdrawn upstream, or gone from its month,
    is not copied; on DuckDB delete_keys_gone_upstream deletes it). -#}
{% macro copy_on_write_rows(recomputed, key, changed_keys, upstream, month_column='created_month') -%}
    {%- if is_incremental() and writes_whole_months() -%}
    {%- set changed = 'select ' ~ key ~ ' from ' ~ changed_keys ~ ' where ' ~ key ~ ' is not null' -%}
    {%- set columns = model_columns() -%}
    select {{ columns | join(', ') if columns else '*' }} from {{ recomputed }}

    union all

    select {{ copied_columns(columns) }}
    from {{ this }} as built
    inner join (
        select {{ key }}, {{ month_column }} from {{ upstream }}
        where
            {{ month_column }} in (
                select {{ month_column }} from {{ upstream }} where {{ key }} in ({{ changed }})
                union
                select {{ month_column }} from {{ this }} where {{ key }} in ({{ changed }})
            )
            and {{ key }} not in ({{ changed }})
    ) as unchanged
        on
            built.{{ key }} = unchanged.{{ key }}
            and built.{{ month_column }} = unchanged.{{ month_column }}
    {%- else -%}
    select * from {{ recomputed }}
    {%- endif -%}
{%- endmacro %}

{#- The columns of the model being built, in the order its yml lists them: copy-on-write
    unions new rows with rows as built, which pairs columns by position (Spark keeps the
    partition column last). A unit test's model lists none: its `this` is a fixture in the
    model's own order, paired as it comes (`*`). -#}
{% macro model_columns() -%}
    {%- set columns = model.columns.keys() | list if execute and model.columns else [] -%}
    {%- if execute and not columns and model.resource_type != 'unit_test' -%}
        {{ exceptions.raise_compiler_error(model.unique_id ~ ': copy-on-write needs its columns listed in its yml') }}
    {%- endif -%}
    {{ return(columns) }}
{%- endmacro %}

{#- The select list of the rows a copy-on-write model copies from `built` (its `this`): each of
    `columns` as built, or as the expression `replacements` gives for it. -#}
{% macro copied_columns(columns, replacements={}) -%}
    {%- if not columns -%}
        built.*
    {%- else -%}
        {%- for column in columns -%}
            {{ replacements[column] ~ ' as ' ~ column if column in replacements else 'built.' ~ column }}
            {{- ', ' if not loop.last }}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
