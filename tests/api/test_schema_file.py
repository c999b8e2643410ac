from pathlib import Path

from graphql import GraphQLEnumType

from api.schema import schema

SCHEMA_FILE = Path(__file__).parents[2] / "schema.graphql"


def test_schema_file_matches_the_code():
    """Regenerate with `make schema` (strawberry export-schema api.schema:schema)."""
    assert SCHEMA_FILE.read_text() == str(schema) + "\n"


def test_every_type_field_argument_and_enum_value_has_a_description():
    for type_ in schema._schema.type_map.values():
        if type_.name.startswith("__") or type_.name in {"String", "Boolean", "ID", "Int", "Float"}:
            continue
        assert type_.description, type_.name
        for name, field in getattr(type_, "fields", {}).items():
            assert field.description, f"{type_.name}.{name}"
            for argument_name, argument in getattr(field, "args", {}).items():
                assert argument.description, f"{type_.name}.{name}({argument_name})"
        if isinstance(type_, GraphQLEnumType):
            for name, value in type_.values.items():
                assert value.description, f"{type_.name}.{name}"
