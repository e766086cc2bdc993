namespace Profiler.Firefox;

sealed class ProblemList
{
    readonly List<string> _problems = [];

    public IReadOnlyList<string> Items => _problems;

    public void Add(string problem) => _problems.Add(problem);
}
