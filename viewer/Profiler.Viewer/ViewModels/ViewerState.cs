using Profiler.Core.Analysis;
using Profiler.Core.Model;

namespace Profiler.Viewer.ViewModels;

/// <summary>Commands live mode answers to; null when viewing a finished recording.</summary>
public interface ILiveControl
{
    LiveState State { get; }
    void TogglePause();
    /// <summary>Writes what was recorded so far to a file; returns a one-line message.</summary>
    string Snapshot();
    void StopRecording();
}

/// <summary>A whole screen: status lines, tabs, the page and the help bar.</summary>
/// <param name="Selected">The highlighted line, -1 for none.</param>
/// <param name="BarLines">How many lines at the top (status and tabs) and the last line are bars.</param>
public sealed record ViewerScreen(IReadOnlyList<string> Lines, int Selected, int BarLines);

/// <summary>
/// Everything the terminal UI shows, as plain state: the analysed recording, the four pages and
/// which is in front. Keys go in, lines come out; the terminal layer only paints them.
/// </summary>
public sealed class ViewerState
{
    readonly MetricsOptions? _options;
    ViewerData _data;
    IPage _current;
    IPage? _siteSource;

    public ViewerState(ProfileModel model, MetricsOptions? options = null, ILiveControl? live = null)
    {
        _options = options;
        _data = ViewerData.Compute(model, null, options);
        Live = live;
        Sites = new SitesPage(() => _data);
        Tree = new CallTreePage(() => _data);
        Timeline = new TimelinePage(() => _data, SelectRange);
        Details = new DetailsPage(() => _data, SelectedSite);
        Pages = [Sites, Tree, Timeline, Details];
        _current = Sites;
    }

    public ViewerData Data => _data;
    public ILiveControl? Live { get; }
    public SitesPage Sites { get; }
    public CallTreePage Tree { get; }
    public TimelinePage Timeline { get; }
    public DetailsPage Details { get; }
    public IReadOnlyList<IPage> Pages { get; }
    public IPage Current => _current;
    public bool QuitRequested { get; private set; }
    /// <summary>Changes when what is shown changes, so a UI redraws only then.</summary>
    public int Version { get; private set; }

    /// <summary>A newer model of the same recording (live mode): analysed again, the range kept.</summary>
    public void Update(ProfileModel model)
    {
        _data = ViewerData.Compute(model, _data.Range, _options);
        Version++;
    }

    public void SelectRange(TimeRange? range)
    {
        _data = ViewerData.Compute(_data.Model, range, _options, previous: _data);
        Version++;
    }

    /// <summary>The site Details shows: the call tree's node when it was the last list used (its
    /// function's largest site, when it allocated through several paths), else Top sites' row.</summary>
    FunctionMetrics? SelectedSite()
    {
        if (_siteSource == Tree && Tree.Selected is { } node)
            return _data.Sites.Where(s => s.Function == node.Function).OrderByDescending(s => s.Metrics.AllocatedBytes).FirstOrDefault();
        return Sites.Selected;
    }

    public void Show(IPage page)
    {
        if (page == Details && _current != Details) { _siteSource = _current == Tree ? Tree : Sites; Details.Reset(); }
        _current = page;
        Version++;
    }

    public bool Handle(PageKey key)
    {
        Version++;
        if (_current.Handle(key)) return true;
        if (key == PageKey.Enter && _current == Sites) { Show(Details); return true; }
        if (key == PageKey.Escape && _current == Details) { Show(_siteSource ?? Sites); return true; }
        Version--;
        return false;
    }

    public bool Handle(char c)
    {
        Version++;
        if (_current.CapturesText && _current.Handle(c)) return true;
        switch (c)
        {
            case '1': Show(Sites); return true;
            case '2': Show(Tree); return true;
            case '3': Show(Timeline); return true;
            case '4' or 'd': Show(Details); return true;
            case '\t': Show(Pages[(IndexOf(_current) + 1) % Pages.Count]); return true;
            case 'q': QuitRequested = true; return true;
            case 'P' when Live is not null: Live.TogglePause(); return true;
            case 'S' when Live is not null: _message = Live.Snapshot(); return true;
            case 'X' when Live is not null: Live.StopRecording(); return true;
        }
        if (_current.Handle(c)) return true;
        Version--;
        return false;
    }

    string? _message;

    int IndexOf(IPage page) => Pages.ToList().IndexOf(page);

    public string HelpBar => "1 sites 2 tree 3 timeline 4 details  " + _current.Help +
                             (Live is null ? "" : "  P pause S snapshot X stop") + "  q quit";

    public ViewerScreen Render(int width, int height)
    {
        var live = Live?.State;
        if (live is not null && _message is not null) live = live with { Message = _message };
        var lines = new List<string>();
        lines.AddRange(StatusText.Of(_data, live).Select(l => Text.Fit(l, width)));
        lines.Add(Text.Fit(string.Join(" ", Pages.Select((p, i) => p == _current ? $"[{i + 1} {p.Title}]" : $" {i + 1} {p.Title} ")), width));
        int bars = lines.Count;
        var page = _current.Render(width, Math.Max(3, height - bars - 1));
        lines.AddRange(page.Lines.Take(height - bars - 1).Select(l => Text.Fit(l, width)));
        while (lines.Count < height - 1) lines.Add(new string(' ', width));
        lines.Add(Text.Fit(HelpBar, width));
        return new ViewerScreen(lines, page.Selected >= 0 ? bars + page.Selected : -1, bars);
    }
}
