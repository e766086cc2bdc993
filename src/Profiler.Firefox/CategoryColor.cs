namespace Profiler.Firefox;

/// <summary>The colours the Firefox Profiler knows for categories.</summary>
public enum CategoryColor
{
    Grey,
    Blue,
    LightBlue,
    Green,
    Orange,
    Purple,
    Red,
    Yellow,
    Magenta,
    Teal,
    Transparent,
}

static class CategoryColorNames
{
    public static string ToJsonName(this CategoryColor color) => color switch
    {
        CategoryColor.LightBlue => "lightblue",
        _ => color.ToString().ToLowerInvariant(),
    };
}
