{#- Levenshtein distance counted in characters, as docs/rules.md means it for GOV-07.

    DuckDB's levenshtein() counts UTF-8 bytes, so one changed Chinese character costs up to 3
    and the rule's similarity (which divides by length() in characters) would be wrong for
    Chinese text. The distance only depends on which characters of the two texts are equal,
    so each pair is re-coded to single-byte characters first: every character the two texts
    share gets its own code (chr(1)..chr(125)), characters found in one text only collapse to
    chr(126) on the left and chr(127) on the right (they never match anything anyway). Then
    the fast byte levenshtein() gives the character distance. The rare pair sharing more than
    125 distinct characters falls back to a (slow) dynamic programme over code points.

    `list_transform([x], shared -> ...)[1]` binds the shared-character list once per pair. -#}
{% macro char_levenshtein(left, right) -%}
    {{ return(adapter.dispatch('char_levenshtein', 'yimei')(left, right)) }}
{%- endmacro %}

{#- Spark's levenshtein() counts characters (code points) already. -#}
{% macro spark__char_levenshtein(left, right) -%}
    levenshtein({{ left }}, {{ right }})
{%- endmacro %}

{% macro duckdb__char_levenshtein(left, right) -%}
    (case
        when {{ left }} = {{ right }} then 0
        else list_transform(
            [list_sort(list_intersect(
                list_distinct(string_split({{ left }}, '')), list_distinct(string_split({{ right }}, ''))
            ))],
            shared -> case
                when len(shared) <= 125
                    then levenshtein(
                        array_to_string(
                            list_transform(
                                string_split({{ left }}, ''), ch -> chr(coalesce(list_position(shared, ch), 126))
                            ),
                            ''
                        ),
                        array_to_string(
                            list_transform(
                                string_split({{ right }}, ''), ch -> chr(coalesce(list_position(shared, ch), 127))
                            ),
                            ''
                        )
                    )
                else {{ char_levenshtein_dynamic(left, right) }}
            end
        )[1]
    end)
{%- endmacro %}

{#- Textbook Wagner-Fischer over code points, one list per row of the matrix. -#}
{% macro char_levenshtein_dynamic(left, right) -%}
    list_reduce(
        list_transform(string_split({{ left }}, ''), ch -> [unicode(ch)]),
        (previous_row, left_char) -> list_reduce(
            list_transform(string_split({{ right }}, ''), ch -> [unicode(ch)]),
            (current_row, right_char, j) -> list_append(
                current_row,
                least(
                    previous_row[j + 1] + 1,
                    current_row[-1] + 1,
                    previous_row[j] + cast(left_char[1] != right_char[1] as integer)
                )
            ),
            [previous_row[1] + 1]
        ),
        cast(range(0, length({{ right }}) + 1) as integer[])
    )[-1]
{%- endmacro %}
