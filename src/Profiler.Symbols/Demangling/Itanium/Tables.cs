namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>An operator encoding: two-letter code, spelling, and operand count in expressions.</summary>
internal sealed record OperatorInfo(string Code, string Name, int Arity)
{
    /// <summary>static_cast, dynamic_cast, const_cast, reinterpret_cast: their left operand is a type.</summary>
    public bool IsNewStyleCast => Code[1] == 'c' && Code[0] is 's' or 'd' or 'c' or 'r';
}

/// <summary>How a literal of a builtin type is written back (e.g. 5u, 5l, true).</summary>
internal enum LiteralStyle
{
    Default,
    Int,
    Unsigned,
    Long,
    UnsignedLong,
    LongLong,
    UnsignedLongLong,
    Bool,
    Float,
    Void,
}

internal sealed record BuiltinTypeInfo(string Name, LiteralStyle Style);

/// <summary>
/// St/Sa/Sb/Ss/Si/So/Sd. c++filt prints the full template spelling rather than typedef names,
/// and a following constructor or destructor is named after <see cref="ConstructorName"/>.
/// </summary>
internal sealed record StandardSubstitutionInfo(char Code, string Expansion, string? ConstructorName);

internal static class Tables
{
    private static readonly Dictionary<string, OperatorInfo> OperatorsByCode = new OperatorInfo[]
    {
        new("aN", "&=", 2), new("aS", "=", 2), new("aa", "&&", 2), new("ad", "&", 1), new("an", "&", 2),
        new("at", "alignof ", 1), new("aw", "co_await ", 1), new("az", "alignof ", 1),
        new("cc", "const_cast", 2), new("cl", "()", 2), new("cm", ",", 2), new("co", "~", 1),
        new("dV", "/=", 2), new("dX", "[...]=", 3), new("da", "delete[] ", 1), new("dc", "dynamic_cast", 2),
        new("de", "*", 1), new("di", "=", 2), new("dl", "delete ", 1), new("ds", ".*", 2), new("dt", ".", 2),
        new("dv", "/", 2), new("dx", "]=", 2), new("eO", "^=", 2), new("eo", "^", 2), new("eq", "==", 2),
        new("fL", "...", 3), new("fR", "...", 3), new("fl", "...", 2), new("fr", "...", 2),
        new("ge", ">=", 2), new("gs", "::", 1), new("gt", ">", 2), new("ix", "[]", 2), new("lS", "<<=", 2),
        new("le", "<=", 2), new("li", "operator\"\" ", 1), new("ls", "<<", 2), new("lt", "<", 2),
        new("mI", "-=", 2), new("mL", "*=", 2), new("mi", "-", 2), new("ml", "*", 2), new("mm", "--", 1),
        new("na", "new[]", 3), new("ne", "!=", 2), new("ng", "-", 1), new("nt", "!", 1), new("nw", "new", 3),
        new("nx", "noexcept", 1), new("oR", "|=", 2), new("oo", "||", 2), new("or", "|", 2),
        new("pL", "+=", 2), new("pl", "+", 2), new("pm", "->*", 2), new("pp", "++", 1), new("ps", "+", 1),
        new("pt", "->", 2), new("qu", "?", 3), new("rM", "%=", 2), new("rS", ">>=", 2),
        new("rc", "reinterpret_cast", 2), new("rm", "%", 2), new("rs", ">>", 2), new("sP", "sizeof...", 1),
        new("sZ", "sizeof...", 1), new("sc", "static_cast", 2), new("ss", "<=>", 2), new("st", "sizeof ", 1),
        new("sz", "sizeof ", 1), new("tr", "throw", 0), new("tw", "throw ", 1),
    }.ToDictionary(op => op.Code, StringComparer.Ordinal);

    public static OperatorInfo? FindOperator(char first, char second) =>
        OperatorsByCode.GetValueOrDefault(string.Concat(first, second));

    /// <summary>Single-letter builtin codes; letters without an entry are not builtin types.</summary>
    public static BuiltinTypeInfo? FindBuiltin(char code) => code switch
    {
        'a' => new("signed char", LiteralStyle.Default),
        'b' => new("bool", LiteralStyle.Bool),
        'c' => new("char", LiteralStyle.Default),
        'd' => new("double", LiteralStyle.Float),
        'e' => new("long double", LiteralStyle.Float),
        'f' => new("float", LiteralStyle.Float),
        'g' => new("__float128", LiteralStyle.Float),
        'h' => new("unsigned char", LiteralStyle.Default),
        'i' => new("int", LiteralStyle.Int),
        'j' => new("unsigned int", LiteralStyle.Unsigned),
        'l' => new("long", LiteralStyle.Long),
        'm' => new("unsigned long", LiteralStyle.UnsignedLong),
        'n' => new("__int128", LiteralStyle.Default),
        'o' => new("unsigned __int128", LiteralStyle.Default),
        's' => new("short", LiteralStyle.Default),
        't' => new("unsigned short", LiteralStyle.Default),
        'v' => new("void", LiteralStyle.Void),
        'w' => new("wchar_t", LiteralStyle.Default),
        'x' => new("long long", LiteralStyle.LongLong),
        'y' => new("unsigned long long", LiteralStyle.UnsignedLongLong),
        'z' => new("...", LiteralStyle.Default),
        _ => null,
    };

    /// <summary>Builtins spelled D&lt;letter&gt;.</summary>
    public static BuiltinTypeInfo? FindExtendedBuiltin(char code) => code switch
    {
        'f' => new("decimal32", LiteralStyle.Default),
        'd' => new("decimal64", LiteralStyle.Default),
        'e' => new("decimal128", LiteralStyle.Default),
        'h' => new("half", LiteralStyle.Float),
        'u' => new("char8_t", LiteralStyle.Default),
        's' => new("char16_t", LiteralStyle.Default),
        'i' => new("char32_t", LiteralStyle.Default),
        'n' => NullptrType,
        _ => null,
    };

    public static readonly BuiltinTypeInfo NullptrType = new("decltype(nullptr)", LiteralStyle.Default);

    public static readonly BuiltinTypeInfo FloatN = new("_Float", LiteralStyle.Float);

    public static readonly BuiltinTypeInfo BFloat16 = new("std::bfloat16_t", LiteralStyle.Float);

    public static StandardSubstitutionInfo? FindStandardSubstitution(char code) => code switch
    {
        't' => new('t', "std", null),
        'a' => new('a', "std::allocator", "allocator"),
        'b' => new('b', "std::basic_string", "basic_string"),
        's' => new('s', "std::basic_string<char, std::char_traits<char>, std::allocator<char> >", "basic_string"),
        'i' => new('i', "std::basic_istream<char, std::char_traits<char> >", "basic_istream"),
        'o' => new('o', "std::basic_ostream<char, std::char_traits<char> >", "basic_ostream"),
        'd' => new('d', "std::basic_iostream<char, std::char_traits<char> >", "basic_iostream"),
        _ => null,
    };
}
