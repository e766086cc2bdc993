using System.Text.RegularExpressions;

namespace Profiler.Core.Model;

/// <summary>A JIT-compiled method's name as .NET tools print it (<c>Namespace.Type.Method(args)</c>)
/// and the assembly it belongs to, from the line a .NET runtime writes to its perf map:
/// <c>RET [Assembly] Namespace.Type::Method(ARGS)[Tier]</c>, or <c>stub NAME</c> for its stubs.</summary>
public readonly record struct ManagedName(string Function, string Assembly, bool IsStub)
{
    /// <summary>What the runtime's stubs (precode, P/Invoke and call-counting thunks…) are grouped under.</summary>
    public const string StubsAssembly = "runtime stubs";
}

public static partial class PerfMapName
{
    public static ManagedName Parse(string raw)
    {
        if (raw.StartsWith("stub ", StringComparison.Ordinal))
            return new ManagedName("[stub] " + raw[5..], ManagedName.StubsAssembly, true);
        // The assembly is the first bracketed word preceded and followed by a space: brackets of
        // assembly references in the return type are followed by the type name, array brackets
        // are empty, generic instantiations follow a backtick.
        var owner = OwningAssembly().Match(raw);
        if (!owner.Success)
            return new ManagedName(raw, "", false);
        string method = Tier().Replace(raw[(owner.Index + owner.Length)..], "");
        int open = method.IndexOf('(');
        string path = open < 0 ? method : method[..open];
        string args = open < 0 ? "" : method[open..];
        return new ManagedName(path.Replace("::", ".", StringComparison.Ordinal) + Clean(args), owner.Groups[1].Value, false);
    }

    /// <summary>Argument types without IL's <c>class</c>/<c>valuetype</c> keywords and assembly references.</summary>
    static string Clean(string args) => AssemblyReference().Replace(TypeKeyword().Replace(args, ""), "");

    [GeneratedRegex(@"(?:^|\s)\[([^\[\]\s]+)\]\s")]
    private static partial Regex OwningAssembly();

    [GeneratedRegex(@"\[[A-Za-z0-9-]+\]$")]
    private static partial Regex Tier();

    [GeneratedRegex(@"\b(?:class|valuetype) ")]
    private static partial Regex TypeKeyword();

    [GeneratedRegex(@"\[[^\[\]\s,]+\](?=[A-Za-z_])")]
    private static partial Regex AssemblyReference();
}
