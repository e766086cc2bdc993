namespace Profiler.Tests.Demangling;

/// <summary>GNU binutils and the system libstdc++, the live oracle the demangler is checked
/// against. scripts/install-deps.sh installs them; a missing one fails the test.</summary>
internal static class ExternalTools
{
    private static readonly ProcessOptions Options = new() { Timeout = TimeSpan.FromMinutes(2) };

    private static readonly Lazy<string?> LibStdCxxPath = new(LocateLibStdCxx);

    public static string LibStdCxx
    {
        get
        {
            Assert.True(LibStdCxxPath.Value is not null, "libstdc++.so.6 not found; run scripts/install-deps.sh");
            return LibStdCxxPath.Value;
        }
    }

    /// <summary>Every Itanium-mangled name in a shared library's dynamic symbol table, version suffix included.</summary>
    public static IReadOnlyList<string> DynamicCppSymbols(string library) =>
        Run("nm", ["-D", library], input: null)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length > 0 && fields[^1].StartsWith("_Z", StringComparison.Ordinal))
            .Select(fields => fields[^1])
            .ToList();

    /// <summary>c++filt's reading of each symbol, in order.</summary>
    public static IReadOnlyList<string> CxxFilt(IReadOnlyList<string> symbols) => Run("c++filt", [], symbols);

    private static string? LocateLibStdCxx()
    {
        // The dynamic loader's cache knows where the library lives on any distribution.
        if (Prerequisites.IsInstalled("ldconfig"))
        {
            foreach (string line in Run("ldconfig", ["-p"], input: null))
            {
                int arrow = line.IndexOf("=>", StringComparison.Ordinal);
                if (line.TrimStart().StartsWith("libstdc++.so.6 ", StringComparison.Ordinal) && arrow > 0
                    && line[(arrow + 2)..].Trim() is var candidate && File.Exists(candidate))
                    return candidate;
            }
        }

        string[] conventionalDirectories =
        [
            "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
        ];
        return conventionalDirectories.Select(directory => Path.Combine(directory, "libstdc++.so.6")).FirstOrDefault(File.Exists);
    }

    private static IReadOnlyList<string> Run(string tool, string[] arguments, IReadOnlyList<string>? input)
    {
        Prerequisites.Require([tool]);
        return ProcessRunner.RunChecked(tool, arguments, Options with { InputLines = input }).Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
