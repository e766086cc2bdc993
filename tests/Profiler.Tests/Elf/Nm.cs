namespace Profiler.Tests.Elf;

/// <summary>Defined function symbols as `nm -f sysv --defined-only` lists them.</summary>
internal static class Nm
{
    /// <summary>Name as nm prints it, with any "@VERSION"/"@@VERSION" suffix.</summary>
    public sealed record Function(string Name, ulong Address, ulong Size)
    {
        public string BaseName => Name.Split('@')[0];
        public string? Version => Name.Contains('@') ? Name[(Name.LastIndexOf('@') + 1)..] : null;
        public bool IsDefaultVersion => Name.Contains("@@", StringComparison.Ordinal);
    }

    public static List<Function> DefinedFunctions(string path, bool dynamic)
    {
        string[] arguments = dynamic
            ? ["-f", "sysv", "--defined-only", "-D", path]
            : ["-f", "sysv", "--defined-only", path];
        var functions = new List<Function>();
        foreach (var line in SystemTools.Lines(SystemTools.Run("nm", arguments)))
        {
            var fields = line.Split('|');
            if (fields.Length != 7 || fields[1].Trim().Length == 0)
                continue;
            string type = fields[3].Trim();
            // nm has no name for STT_GNU_IFUNC and prints it as "<OS specific>: 10".
            if (type != "FUNC" && !type.EndsWith(": 10", StringComparison.Ordinal))
                continue;
            string size = fields[4].Trim();
            functions.Add(new Function(fields[0].Trim(), Readelf.Hex(fields[1].Trim()),
                size.Length == 0 ? 0 : Readelf.Hex(size)));
        }
        return functions;
    }
}
