{#- The latest-version facts (stg_orders__orders, stg_reviews__reviews): one row per key in its
    winning version, partitioned by the month the key was created, rewritten copy-on-write.

    The raw tables keep every delivered version; a re-sent partition replaced all rows of its
    `_dt`, so every row loaded since the last build carries a `_loaded_at` later than the newest
    one the model holds (`loaded_at` of its winning versions: a high-water mark that can only be
    too early, which costs re-ranking, never too late, which would lose data).

    An incremental build ranks only the versions of the keys whose winner may have changed
    (keys_to_rerank) and writes those keys' new winners (copy_on_write_months): on DuckDB in
    place of their old rows, on Spark with the untouched rows of each month they are in, or
    were in (one partition overwrite per month). The cost follows the day's keys, not every
    version delivered for the months they touch (at L, 1.27M orders' versions ranked among 27M
    before). -#}

{#- The keys whose latest version may have changed since the last build: those with a version
    in a partition loaded since (a new, late or re-sent `_dt`), and those whose current winner
    came from such a partition (a re-send may have withdrawn it). Their versions are re-ranked
    among all the versions ever delivered for them, so a later partition updating an earlier
    order is judged like in a full build. -#}
{% macro keys_to_rerank(key, versions) -%}
    select {{ key }}
    from {{ versions }}
    where _dt in ({{ _partitions_loaded_since_last_build(versions) }})

    union

    select {{ key }}
    from {{ this }}
    where delivered_on in ({{ _partitions_loaded_since_last_build(versions) }})
{%- endmacro %}

{% macro _partitions_loaded_since_last_build(versions) -%}
    select distinct _dt
    from {{ versions }}
    where _loaded_at > (
        select coalesce(max(loaded_at), cast('1970-01-01 00:00:00+00' as {{ type_instant() }}))
        from {{ this }}
    )
{%- endmacro %}

{#- The winning version of each key among `versions`: the latest `updated_at`; ties go to the
    later delivery, then the later row. Ranked on the key columns only, then joined back: a
    window carrying every column of millions of rows costs several times as much. -#}
{% macro winning_versions(versions, key) -%}
    select {{ versions }}.*
    from {{ versions }}
    inner join (
        select
            _dt,
            _source_file,
            _row_number
        from (
            select
                _dt,
                _source_file,
                _row_number,
                row_number() over (
                    partition by {{ key }}
                    order by updated_at desc, _dt desc, _row_number desc, _source_file desc
                ) as version_rank
            from {{ versions }}
        ) as ranked
        where version_rank = 1
    ) as winners
        on
            {{ versions }}._dt = winners._dt
            and {{ versions }}._source_file = winners._source_file
            and {{ versions }}._row_number = winners._row_number
{%- endmacro %}

{#- The rows to write: `rewritten` (the changed keys in their new winning version; every key in
    a full build) and, in an incremental build, the other rows of every month those keys are in
    or were in, as built (`month_column` partitions the model) where whole months are written
    (Spark; copy_on_write() in macros/incremental_months.sql). There a changed key without a
    version left, or now in another month, is dropped from the month it was in because its
    month is rewritten without it; on DuckDB, which writes the changed keys' rows in place of
    their old ones, a moved key's old row goes with the delete on the key, a withdrawn one's
    with the post-hook delete_withdrawn_versions.

    `built_at` (the high-water mark of the models downstream) moves only on the changed keys'
    rows, so the facts and rules downstream see which rows changed; a month that lost a key
    (withdrawn, or moved to another month) gets the new `built_at` on every row, so models that
    rebuild months see that month too. -#}
{% macro copy_on_write_months(rewritten, key, changed_keys, month_column='created_month') -%}
    {%- if is_incremental() -%}
    {%- set changed = 'select ' ~ key ~ ' from ' ~ changed_keys ~ ' where ' ~ key ~ ' is not null' -%}
    {%- set columns = model_columns() -%}
    select {{ columns | join(', ') if columns else '*' }} from {{ rewritten }}

    union all

    select {{ copied_columns(columns, {'built_at':
        'case when shrunk.' ~ month_column ~ ' is null then built.built_at else ' ~ built_at() ~ ' end'
    }) }}
    from {{ this }} as built
    -- the months holding a changed key that no longer has a row there (where only the changed
    -- rows are written, DuckDB, the other rows of those months only: given the new built_at)
    {{ 'left' if writes_whole_months() else 'inner' }} join (
        select distinct before.{{ month_column }}
        from {{ this }} as before
        left join {{ rewritten }} as now
            on
                before.{{ key }} = now.{{ key }}
                and before.{{ month_column }} = now.{{ month_column }}
        where before.{{ key }} in ({{ changed }}) and now.{{ key }} is null
    ) as shrunk
        on built.{{ month_column }} = shrunk.{{ month_column }}
    where
        built.{{ month_column }} in (
            select {{ month_column }} from {{ rewritten }}
            union
            select {{ month_column }} from {{ this }} where {{ key }} in ({{ changed }})
        )
        and built.{{ key }} not in ({{ changed }})
    {%- else -%}
    select * from {{ rewritten }}
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of a latest-version fact: where only the changed keys' rows were written
    (DuckDB), a key whose winning version was withdrawn (its partition re-sent without it) keeps
    its old row, loaded before its partition's current delivery: it goes. Spark rewrote the
    months without it. -#}
{% macro delete_withdrawn_versions(versions) -%}
    {{ return(adapter.dispatch('delete_withdrawn_versions', 'yimei')(versions)) }}
{%- endmacro %}

{% macro default__delete_withdrawn_versions(versions) -%}
    delete from {{ this }} as built
    using (select _dt, max(_loaded_at) as loaded_at from {{ versions }} group by _dt) as delivered
    where built.delivered_on = delivered._dt and built.loaded_at < delivered.loaded_at
{%- endmacro %}

{% macro spark__delete_withdrawn_versions(versions) -%}
    select 1
{%- endmacro %}

{#- Post-hook of a month-partitioned model keyed on `key` whose months are rebuilt whole from
    upstream months: the old row of a key that moved to another month stays behind when its old
    month had no row left to write. -#}
{% macro delete_moved_rows(key) -%}
    {{ delete_rows(
        "built_at < " ~ built_at() ~ " and " ~ key ~ " in (select " ~ key ~ " from " ~ this
        ~ " where built_at = " ~ built_at() ~ ")"
    ) }}
{%- endmacro %}
