using System.Xml;

namespace Profiler.Export.Checks;

/// <summary>JUnit XML with one test case per budget, for CI systems that show test results
/// (GitLab's <c>artifacts:reports:junit</c>, GitHub test-report actions).</summary>
public static class JUnitReport
{
    /// <param name="suiteName">What was checked: the command or the recording's file name.</param>
    public static void Write(string suiteName, CheckOutcome outcome, Stream output)
    {
        var settings = new XmlWriterSettings
        {
            Indent = true, IndentChars = "  ", NewLineChars = "\n", Encoding = new System.Text.UTF8Encoding(false),
        };
        using var xml = XmlWriter.Create(output, settings);
        xml.WriteStartDocument();
        xml.WriteStartElement("testsuites");
        xml.WriteStartElement("testsuite");
        xml.WriteAttributeString("name", $"memprof budgets: {suiteName}");
        xml.WriteAttributeString("tests", outcome.Results.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        xml.WriteAttributeString("failures", outcome.Failures.Count().ToString(System.Globalization.CultureInfo.InvariantCulture));
        xml.WriteAttributeString("errors", "0");
        foreach (var r in outcome.Results)
        {
            xml.WriteStartElement("testcase");
            xml.WriteAttributeString("classname", "memprof.budgets");
            xml.WriteAttributeString("name", r.Kind.OptionName());
            if (!r.Passed)
            {
                xml.WriteStartElement("failure");
                xml.WriteAttributeString("message", CheckText.Describe(r));
                xml.WriteAttributeString("type", "BudgetExceeded");
                var sites = r.TopSites.Select(s => $"{CheckText.Figure(r.Kind, s.Value)}  {s.Site.Label}");
                xml.WriteString(string.Join("\n", ["top sites:", .. sites]));
                xml.WriteEndElement();
            }
            else
            {
                xml.WriteElementString("system-out", CheckText.Describe(r));
            }
            xml.WriteEndElement();
        }
        xml.WriteEndElement();
        xml.WriteEndElement();
        xml.WriteEndDocument();
        xml.Flush();
        output.WriteByte((byte)'\n');
    }
}
