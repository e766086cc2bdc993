using System.Diagnostics;

namespace Profiler.Tests.Demangling;

/// <summary>GNU binutils and the system libstdc++, used as a live oracle where they are installed.</summary>
internal static class ExternalTools
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromMinutes(2);

    private static readonly Lazy<string?> LibStdCxxPath = new(LocateLibStdCxx);

    /// <summary>Why the live comparison cannot run here, or null if it can.</summary>
    public static string? MissingPrerequisite()
    {
        foreach (string tool in new[] { "c++filt", "nm" })
        {
            if (!IsOnPath(tool))
            {
                return $"{tool} is not on PATH";
            }
        }

        return LibStdCxxPath.Value is null ? "libstdc++.so.6 not found" : null;
    }

    public static string LibStdCxx => LibStdCxxPath.Value ?? throw new InvalidOperationException("libstdc++ not found");

    /// <summary>Every Itanium-mangled name in a shared library's dynamic symbol table, version suffix included.</summary>
    public static IReadOnlyList<string> DynamicCppSymbols(string library)
    {
        var symbols = new List<string>();
        foreach (string line in Run("nm", ["-D", library], input: null))
        {
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 0 && fields[^1].StartsWith("_Z", StringComparison.Ordinal))
            {
                symbols.Add(fields[^1]);
            }
        }

        return symbols;
    }

    /// <summary>c++filt's reading of each symbol, in order.</summary>
    public static IReadOnlyList<string> CxxFilt(IReadOnlyList<string> symbols) => Run("c++filt", [], symbols);

    private static bool IsOnPath(string tool)
    {
        string? path = Environment.GetEnvironmentVariable("PATH");
        return path is not null && path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, tool)));
    }

    private static string? LocateLibStdCxx()
    {
        // The dynamic loader's cache knows where the library lives on any distribution.
        if (IsOnPath("ldconfig"))
        {
            try
            {
                foreach (string line in Run("ldconfig", ["-p"], input: null))
                {
                    int arrow = line.IndexOf("=>", StringComparison.Ordinal);
                    if (line.TrimStart().StartsWith("libstdc++.so.6 ", StringComparison.Ordinal) && arrow > 0)
                    {
                        string candidate = line[(arrow + 2)..].Trim();
                        if (File.Exists(candidate))
                        {
                            return candidate;
                        }
                    }
                }
            }
            catch (InvalidOperationException)
            {
                // Fall through to the conventional locations.
            }
        }

        string[] conventionalDirectories =
        [
            "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
        ];
        return conventionalDirectories.Select(directory => Path.Combine(directory, "libstdc++.so.6")).FirstOrDefault(File.Exists);
    }

    private static IReadOnlyList<string> Run(string fileName, string[] arguments, IReadOnlyList<string>? input)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = input is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"could not start {fileName}");

        // Feed stdin concurrently so a full stdout pipe cannot deadlock the two processes.
        var writer = Task.Run(() =>
        {
            if (input is null)
            {
                return;
            }

            using var stdin = process.StandardInput;
            foreach (string line in input)
            {
                stdin.Write(line);
                stdin.Write('\n');
            }
        });
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(ProcessTimeout))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{fileName} did not finish within {ProcessTimeout}");
        }

        writer.GetAwaiter().GetResult();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} exited with {process.ExitCode}: {errors.GetAwaiter().GetResult()}");
        }

        return output.GetAwaiter().GetResult().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
