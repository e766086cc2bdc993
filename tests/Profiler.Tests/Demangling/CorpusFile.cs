namespace Profiler.Tests.Demangling;

/// <summary>Reads the "mangled&lt;TAB&gt;expected" corpus files that are copied next to the test assembly.</summary>
internal static class CorpusFile
{
    public const string Itanium = "itanium-corpus.txt";
    public const string Rust = "rust-corpus.txt";

    public static IReadOnlyList<(string Mangled, string Expected)> Load(string fileName)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Demangling", fileName);
        var entries = new List<(string, string)>();
        foreach (string line in File.ReadLines(path))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            int tab = line.IndexOf('\t');
            if (tab <= 0)
            {
                throw new InvalidDataException($"{fileName}: expected 'mangled<TAB>expected' but got '{line}'");
            }

            entries.Add((line[..tab], line[(tab + 1)..]));
        }

        return entries;
    }

    public static TheoryData<string, string> AsTheoryData(string fileName)
    {
        var data = new TheoryData<string, string>();
        foreach (var (mangled, expected) in Load(fileName))
        {
            data.Add(mangled, expected);
        }

        return data;
    }
}
