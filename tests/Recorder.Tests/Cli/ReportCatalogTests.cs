using MemNotebook.Cli;
using MemNotebook.Recorder.Reports;
using Xunit;

namespace MemNotebook.Recorder.Tests.Cli;

/// <summary>The memnb report verbs are made from the report catalog: one verb a report, with its name and help.</summary>
public class ReportCatalogTests
{
    [Fact]
    public void Every_report_of_the_catalog_is_a_verb_with_its_description()
    {
        Assert.Equal(["stats", "timeline", "flamegraph", "summary", "table", "tree"], ReportCatalog.All.Select(r => r.Name));
        foreach (var report in ReportCatalog.All)
        {
            var help = CliHarness.Run(report.Name, "--help");
            Assert.Equal(0, help.ExitCode);
            Assert.Contains(report.Description, help.Out);
            Assert.Equal(report.Parameters.HasFlag(ReportParameters.Selection), help.Out.Contains("--leaks"));
            Assert.Equal(report.TopDescription is not null, help.Out.Contains("--top"));
        }
    }

    [Fact]
    public void The_notebook_names_and_help_come_from_the_catalog()
    {
        Assert.Equal(["stats", "timeline", "flamegraph", "summary", "table"], ReportCatalog.Notebook.Select(r => r.Name));
        Assert.Equal(["stats", "flamegraph"], ReportCatalog.NotebookDefaults.Select(r => r.Name));
        Assert.Equal("Which reports to show, comma-separated: stats,timeline,flamegraph,summary,table, or none (default stats,flamegraph)", ReportCatalog.NotebookHelp);
        Assert.Equal("flamegraph", ReportCatalog.Find("FlameGraph")!.Name);
        Assert.Null(ReportCatalog.Find("flames"));
    }

    [Fact]
    public void A_page_only_report_writes_its_default_page()
    {
        Assert.Equal("memnb-flamegraph-app.html", ReportVerb.DefaultOutput("flamegraph", "/x/app.memnb"));
        Assert.Equal("memnb-flamegraph-app.html", ReportVerb.DefaultOutput("flamegraph", "/x/app.memnb.arrow/"));
    }
}
