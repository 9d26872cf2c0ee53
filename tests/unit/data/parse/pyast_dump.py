"""Python's own ast, printed in ast_dump's format: the independent reference the
.bcl parser's dumps are checked against.

    /usr/bin/python3 pyast_dump.py examples/alexnet.bcl > tests/unit/data/parse/alexnet.ast

Python's BoolOp is flattened; .bcl nests it to the left, so this prints it nested."""
import ast, sys, math

OPS = {ast.Add:'+', ast.Sub:'-', ast.Mult:'*', ast.Div:'/', ast.FloorDiv:'//', ast.Mod:'%', ast.Pow:'**',
       ast.MatMult:'@', ast.And:'and', ast.Or:'or', ast.USub:'-', ast.UAdd:'+', ast.Not:'not',
       ast.Eq:'==', ast.NotEq:'!=', ast.Lt:'<', ast.LtE:'<=', ast.Gt:'>', ast.GtE:'>=', ast.Is:'is',
       ast.IsNot:'is not', ast.In:'in', ast.NotIn:'not in'}
out = []
def q(s):
    if isinstance(s, str): b = s.encode('utf-8')
    else: b = s
    r = '"'
    for c in b:
        ch = chr(c)
        if ch == '"': r += '\\"'
        elif ch == '\\': r += '\\\\'
        elif ch == '\n': r += '\\n'
        elif ch == '\t': r += '\\t'
        elif ch == '\r': r += '\\r'
        elif c < 0x20 or c == 0x7f: r += '\\x%02x' % c
        elif c >= 0x80: r += '\x00%02x' % c
        else: r += ch
    r += '"'
    # reassemble raw bytes >= 0x80
    bs = bytearray()
    i = 0
    while i < len(r):
        if r[i] == '\x00':
            bs.append(int(r[i+1:i+3], 16)); i += 3
        else:
            bs += r[i].encode(); i += 1
    return bs.decode('utf-8', 'surrogateescape')
def fl(v):
    for p in range(1, 18):
        s = '%.*g' % (p, v)
        if float(s) == v: break
    if not any(c in s for c in '.eni'): s += '.0'
    return s
def line(depth, label, text):
    out.append('  ' * depth + (label + ': ' if label else '') + text)
def expr(e, d, label=None):
    k = type(e)
    if k is ast.Name: line(d, label, 'Name ' + e.id)
    elif k is ast.Constant:
        v = e.value
        if v is None: line(d, label, 'None')
        elif v is True: line(d, label, 'True')
        elif v is False: line(d, label, 'False')
        elif isinstance(v, int): line(d, label, 'Int %d' % v)
        elif isinstance(v, float): line(d, label, 'Float ' + fl(v))
        elif isinstance(v, str): line(d, label, 'Str ' + q(v))
        elif v is Ellipsis: line(d, label, 'Name Ellipsis')
        else: raise Exception('const %r' % v)
    elif k is ast.JoinedStr:
        line(d, label, 'FString')
        for p in e.values: expr(p, d + 1)
    elif k is ast.FormattedValue:
        t = 'Field'
        if e.conversion != -1: t += ' !' + chr(e.conversion)
        if e.format_spec is not None:
            spec = ''.join(x.value for x in e.format_spec.values)
            t += ' spec=' + q(spec)
        line(d, label, t)
        expr(e.value, d + 1)
    elif k is ast.Attribute:
        line(d, label, 'Attr ' + e.attr); expr(e.value, d + 1)
    elif k is ast.Subscript:
        line(d, label, 'Subscript'); expr(e.value, d + 1)
        sl = e.slice
        if isinstance(sl, ast.Index): sl = sl.value
        expr(sl, d + 1, 'index')
    elif k is ast.Slice:
        line(d, label, 'Slice')
        for n, x in (('lo', e.lower), ('hi', e.upper), ('step', e.step)):
            if x is not None: expr(x, d + 1, n)
    elif k is ast.Call:
        line(d, label, 'Call'); expr(e.func, d + 1)
        # Python splits positional and keyword lists; restore source order
        items = [(a.lineno, a.col_offset, 'a', a) for a in e.args] + [(a.lineno, a.col_offset, 'k', a) for a in e.keywords]
        items.sort(key=lambda t: (t[0], t[1]))
        for _, _, kind, a in items:
            if kind == 'a':
                if isinstance(a, ast.Starred): expr(a.value, d + 1, '*arg')
                elif isinstance(a, ast.GeneratorExp): expr(a, d + 1, 'arg')
                else: expr(a, d + 1, 'arg')
            else:
                if a.arg is None: expr(a.value, d + 1, '**arg')
                else: expr(a.value, d + 1, 'kw ' + a.arg)
    elif k is ast.BinOp:
        line(d, label, 'BinOp ' + OPS[type(e.op)]); expr(e.left, d + 1); expr(e.right, d + 1)
    elif k is ast.BoolOp:
        # Python flattens; .bcl nests left-assoc
        vals = e.values
        def nest(vs, d, label):
            if len(vs) == 1: expr(vs[0], d, label); return
            line(d, label, 'BoolOp ' + OPS[type(e.op)]); nest(vs[:-1], d + 1, None); expr(vs[-1], d + 1)
        nest(vals, d, label)
    elif k is ast.UnaryOp:
        line(d, label, 'UnaryOp ' + OPS[type(e.op)]); expr(e.operand, d + 1)
    elif k is ast.Compare:
        line(d, label, 'Compare'); expr(e.left, d + 1)
        for o, r in zip(e.ops, e.comparators): expr(r, d + 1, OPS[type(o)])
    elif k is ast.IfExp:
        line(d, label, 'IfExp'); expr(e.test, d + 1, 'cond'); expr(e.body, d + 1, 'then'); expr(e.orelse, d + 1, 'else')
    elif k in (ast.List, ast.Tuple):
        line(d, label, 'List' if k is ast.List else 'Tuple')
        for x in e.elts: expr(x, d + 1)
    elif k is ast.Dict:
        line(d, label, 'Dict')
        for kk, v in zip(e.keys, e.values):
            if kk is None: expr(v, d + 1, '**')
            else: expr(kk, d + 1, 'key'); expr(v, d + 1, 'value')
    elif k in (ast.ListComp, ast.GeneratorExp):
        line(d, label, 'ListComp'); expr(e.elt, d + 1, 'elt')
        for g in e.generators:
            expr(g.target, d + 1, 'for'); expr(g.iter, d + 1, 'in')
            for c in g.ifs: expr(c, d + 1, 'if')
    elif k is ast.Starred:
        line(d, label, 'Starred'); expr(e.value, d + 1)
    else: raise Exception('expr ' + k.__name__)
def block(b, d, label):
    if b:
        line(d, None, label + ':')
        for s in b: stmt(s, d + 1)
def stmt(s, d):
    k = type(s)
    if k is ast.Expr: line(d, None, 'Expr'); expr(s.value, d + 1)
    elif k is ast.Assign:
        line(d, None, 'Assign')
        for t in s.targets: expr(t, d + 1, 'target')
        expr(s.value, d + 1, 'value')
    elif k is ast.AugAssign:
        line(d, None, 'AugAssign ' + OPS[type(s.op)] + '='); expr(s.target, d + 1, 'target'); expr(s.value, d + 1, 'value')
    elif k is ast.AnnAssign:
        line(d, None, 'AnnAssign'); expr(s.target, d + 1, 'target'); expr(s.annotation, d + 1, 'annotation')
        if s.value is not None: expr(s.value, d + 1, 'value')
    elif k is ast.If:
        line(d, None, 'If'); expr(s.test, d + 1, 'cond'); block(s.body, d + 1, 'then'); block(s.orelse, d + 1, 'else')
    elif k is ast.For:
        line(d, None, 'For'); expr(s.target, d + 1, 'target'); expr(s.iter, d + 1, 'iter')
        block(s.body, d + 1, 'body'); block(s.orelse, d + 1, 'else')
    elif k is ast.Return:
        line(d, None, 'Return')
        if s.value is not None: expr(s.value, d + 1)
    elif k is ast.Assert:
        line(d, None, 'Assert'); expr(s.test, d + 1, 'cond')
        if s.msg is not None: expr(s.msg, d + 1, 'msg')
    elif k is ast.Raise:
        line(d, None, 'Raise')
        if s.exc is not None: expr(s.exc, d + 1)
    elif k is ast.Pass: line(d, None, 'Pass')
    elif k is ast.Break: line(d, None, 'Break')
    elif k is ast.Continue: line(d, None, 'Continue')
    elif k is ast.FunctionDef:
        line(d, None, 'FunctionDef ' + s.name)
        for x in s.decorator_list: expr(x, d + 1, 'decorator')
        a = s.args
        assert not a.posonlyargs
        nd = len(a.args) - len(a.defaults)
        def prm(p, pre, suf, dflt):
            line(d + 1, None, 'Param ' + pre + p.arg + suf)
            if p.annotation is not None: expr(p.annotation, d + 2, 'annotation')
            if dflt is not None: expr(dflt, d + 2, 'default')
        for i, p in enumerate(a.args): prm(p, '', '', a.defaults[i - nd] if i >= nd else None)
        if a.vararg: prm(a.vararg, '*', '', None)
        for p, df in zip(a.kwonlyargs, a.kw_defaults): prm(p, '', ' kwonly', df)
        if a.kwarg: prm(a.kwarg, '**', '', None)
        if s.returns is not None: expr(s.returns, d + 1, 'returns')
        block(s.body, d + 1, 'body')
    elif k is ast.ClassDef:
        line(d, None, 'ClassDef ' + s.name)
        for x in s.decorator_list: expr(x, d + 1, 'decorator')
        for b in s.bases: expr(b, d + 1, 'base')
        block(s.body, d + 1, 'body')
    elif k is ast.Import:
        line(d, None, 'Import')
        for n in s.names: line(d + 1, None, 'Alias ' + n.name + (' as ' + n.asname if n.asname else ''))
    elif k is ast.ImportFrom:
        star = len(s.names) == 1 and s.names[0].name == '*'
        line(d, None, 'ImportFrom ' + '.' * s.level + (s.module or '') + (' *' if star else ''))
        if not star:
            for n in s.names: line(d + 1, None, 'Alias ' + n.name + (' as ' + n.asname if n.asname else ''))
    else: raise Exception('stmt ' + k.__name__)

src = open(sys.argv[1], encoding='utf-8').read()
m = ast.parse(src)
out.append('Module')
for s in m.body: stmt(s, 1)
sys.stdout.write('\n'.join(out) + '\n')
