// The Python source that derives a function's JSON schema from its signature, type hints and docstring.
// It runs inside the `alltools` module at import; kept as Python because it inspects Python objects.
#include "bindings/python/py_functions.h"

namespace alltools::python {

const char* schema_from_signature_source() {
  return R"PY(
import enum as _enum
import inspect as _inspect
import re as _re
import typing as _typing

_SECTION = _re.compile(r'^(Args|Arguments|Parameters|Params|Returns|Return|Raises|Yields|Examples?|Notes?)\s*:\s*$')
_GOOGLE_ARG = _re.compile(r'^\s*(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$')
_SPHINX_ARG = _re.compile(r'^\s*:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$')


def _parse_docstring(doc):
    """Returns (description, {param: description}) from a Google- or Sphinx-style docstring."""
    description, params = [], {}
    section, current, arg_indent = None, None, None
    for raw in (doc or '').splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        sm = _SPHINX_ARG.match(line)
        if sm:
            section, current = 'sphinx', sm.group(1)
            params[current] = sm.group(2).strip()
            continue
        if stripped.startswith(':'):
            section, current = 'sphinx', None
            continue
        if _SECTION.match(stripped):
            section, current, arg_indent = _SECTION.match(stripped).group(1).lower(), None, None
            continue
        if section is None:
            description.append(stripped)
        elif section in ('args', 'arguments', 'parameters', 'params'):
            gm = _GOOGLE_ARG.match(line)
            if gm and (arg_indent is None or indent <= arg_indent):
                arg_indent, current = indent, gm.group(1).lstrip('*')
                params[current] = gm.group(3).strip()
            elif current and stripped:
                params[current] = (params[current] + ' ' + stripped).strip()
        elif section == 'sphinx' and current and stripped:
            params[current] = (params[current] + ' ' + stripped).strip()
    paragraphs = [' '.join(block.split()) for block in '\n'.join(description).split('\n\n') if block.strip()]
    return '\n\n'.join(paragraphs), params


_PRIMITIVES = {str: 'string', int: 'integer', float: 'number', bool: 'boolean', type(None): 'null'}


def _type_schema(tp, where):
    """JSON schema of a type hint; returns (schema, optional)."""
    if tp is _inspect.Parameter.empty or tp is _typing.Any:
        return {}, False
    origin = _typing.get_origin(tp)
    args = _typing.get_args(tp)
    if origin is _typing.Annotated:
        schema, optional = _type_schema(args[0], where)
        for extra in args[1:]:
            if isinstance(extra, str):
                schema['description'] = extra
        return schema, optional
    if tp in _PRIMITIVES:
        return {'type': _PRIMITIVES[tp]}, False
    if origin is _typing.Union or (origin is not None and getattr(origin, '__name__', '') == 'UnionType'):
        members = [a for a in args if a is not type(None)]
        optional = len(members) != len(args)
        if len(members) == 1:
            return _type_schema(members[0], where)[0], optional
        return {'anyOf': [_type_schema(a, where)[0] for a in members]}, optional
    if origin is _typing.Literal:
        values = list(args)
        kinds = {_PRIMITIVES.get(type(v)) for v in values}
        schema = {'type': kinds.pop()} if len(kinds) == 1 and None not in kinds else {}
        schema['enum'] = values
        return schema, False
    if isinstance(tp, type) and issubclass(tp, _enum.Enum):
        values = [m.value for m in tp]
        kinds = {_PRIMITIVES.get(type(v)) for v in values}
        schema = {'type': kinds.pop()} if len(kinds) == 1 and None not in kinds else {}
        schema['enum'] = values
        return schema, False
    if tp in (list, tuple, set, frozenset) or origin in (list, tuple, set, frozenset):
        schema = {'type': 'array'}
        if args and not (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
            if origin is tuple and len(args) > 1:
                schema['prefixItems'] = [_type_schema(a, where)[0] for a in args]
                schema['minItems'] = schema['maxItems'] = len(args)
            else:
                schema['items'] = _type_schema(args[0], where)[0]
        elif args:
            schema['items'] = _type_schema(args[0], where)[0]
        return schema, False
    if tp is dict or origin is dict:
        schema = {'type': 'object'}
        if len(args) == 2 and args[1] is not _typing.Any:
            schema['additionalProperties'] = _type_schema(args[1], where)[0]
        return schema, False
    raise TypeError(f'{where}: type hint {tp!r} has no JSON schema (use str, int, float, bool, list, dict, '
                    f'Optional, Literal, Enum or Annotated)')


def _jsonable(value):
    return value is None or isinstance(value, (str, int, float, bool)) or (
        isinstance(value, (list, tuple)) and all(_jsonable(v) for v in value))


def _schema_for(fn, description=None):
    """(description, parameters schema) for a Python callable."""
    name = getattr(fn, '__name__', 'function')
    sig = _inspect.signature(fn)
    try:
        hints = _typing.get_type_hints(fn, include_extras=True)
    except Exception:
        hints = dict(getattr(fn, '__annotations__', {}))
    doc_description, doc_params = _parse_docstring(_inspect.getdoc(fn))
    properties, required = {}, []
    for pname, p in sig.parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.kind is p.POSITIONAL_ONLY:
            raise TypeError(f'{name}: parameter {pname!r} is positional-only; functions are called with keywords')
        schema, optional = _type_schema(hints.get(pname, p.annotation), f'{name}({pname})')
        if pname in doc_params and 'description' not in schema:
            schema['description'] = doc_params[pname]
        if p.default is not p.empty:
            if _jsonable(p.default):
                schema['default'] = list(p.default) if isinstance(p.default, tuple) else p.default
        elif not optional:
            required.append(pname)
        properties[pname] = schema
    parameters = {'type': 'object', 'properties': properties}
    if required:
        parameters['required'] = required
    return (description if description is not None else doc_description), parameters
)PY";
}

}  // namespace alltools::python
