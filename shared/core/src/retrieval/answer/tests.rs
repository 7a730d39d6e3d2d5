use super::blocks::link_share;
use super::*;

fn section(url: &str, heading: &str, text: &str) -> Section {
    Section {
        chunk_id: url.into(),
        url: url.into(),
        title: "Manual".into(),
        heading: heading.into(),
        text: text.into(),
        page: PageSignals::default(),
        page_rank: 0,
        retrieved: true,
        lead: false,
    }
}

fn chunk(id: &str, heading: &str, text: &str) -> SearchHit {
    SearchHit {
        chunk_id: id.into(),
        url: format!("https://docs.example.com/a#{heading}"),
        title: "A".into(),
        heading: heading.into(),
        text: text.into(),
        score: 0.0,
        page: PageSignals::default(),
        more: Vec::new(),
    }
}

/// A page read whole from its start.
fn read(chunks: &[SearchHit]) -> PageChunks {
    PageChunks { chunks: chunks.to_vec(), resumes_at: None }
}

fn counts(chunks: u64, per_term: &[u64]) -> TermCounts {
    TermCounts { chunks, per_term: per_term.to_vec() }
}

/// Which of `sections` the answer to `question` quotes first, its terms counted by `per_term` in
/// 1,000 chunks.
fn quoted_first(question: &str, per_term: &[u64], sections: &[Section]) -> usize {
    let terms = WeightedTerms::new(question, &counts(1000, per_term));
    match choose_quotes(&terms, sections, &AnswerOptions::default()) {
        Choice::Quotes(quotes) => quotes[0].section,
        Choice::NotFound { evidence } => panic!("nothing quoted (evidence {evidence})"),
    }
}

#[test]
fn rare_words_weigh_more_than_common_ones() {
    // "index" is everywhere, "partial" rare.
    let terms = WeightedTerms::new("partial index", &counts(1000, &[5, 600]));
    assert!(terms.coverage("a partial thing") > 0.75, "{terms:?}");
    assert!(terms.coverage("an index") < 0.25, "{terms:?}");
    assert_eq!(terms.coverage("partial index"), 1.0);
    assert_eq!(terms.coverage("nothing here"), 0.0);
}

#[test]
fn a_page_is_cut_into_its_sections_without_the_overlap() {
    let chunks = vec![
        chunk("1", "S", "First paragraph.\n\nSecond paragraph ends here. And a tail sentence."),
        chunk("2", "S", "And a tail sentence.\n\nThird paragraph."),
        chunk("3", "T", "It begins here and"),
        chunk("4", "T", "continues there."),
    ];
    let sections = Section::of_page(&read(&chunks), &chunks[3], 2);
    assert_eq!(sections.len(), 2);
    assert_eq!(
        sections[0].text,
        "First paragraph.\n\nSecond paragraph ends here. And a tail sentence.\n\nThird paragraph."
    );
    // A paragraph cut between two chunks is one paragraph again.
    assert_eq!(sections[1].text, "It begins here and continues there.");
    assert_eq!((sections[0].retrieved, sections[1].retrieved), (false, true));
    assert!(sections.iter().all(|s| s.page_rank == 2));
    // A best chunk beyond what was read stands alone.
    let far = chunk("9", "Z", "Far down the page.");
    let sections = Section::of_page(&read(&chunks[..1]), &far, 0);
    assert_eq!((sections[0].text.as_str(), sections[0].retrieved), ("Far down the page.", true));
}

#[test]
fn an_entrys_parameters_are_read_with_the_entry() {
    // gtk-doc: each function's parameters and result under headings of their own.
    let entry = "Functions › g_get_current_time ()";
    let chunks = vec![
        chunk(
            "1",
            entry,
            "`void g_get_current_time (GTimeVal *result);`\n\nEquivalent to gettimeofday().",
        ),
        chunk(
            "2",
            &format!("{entry} › Parameters"),
            "| result | Where to store the current time. |",
        ),
        chunk("3", &format!("{entry} › Parameters"), "| more | A second row. |"),
        chunk("4", &format!("{entry} › Since"), "2.0"),
        chunk("5", "Functions › g_get_real_time ()", "Queries the system wall-clock time."),
    ];
    let sections = Section::of_page(&read(&chunks), &chunks[1], 0);
    let headings: Vec<_> = sections.iter().map(|s| s.heading.as_str()).collect();
    assert_eq!(
        headings,
        [entry, "Functions › g_get_current_time () › Since", "Functions › g_get_real_time ()"]
    );
    assert_eq!(
        sections[0].text,
        "`void g_get_current_time (GTimeVal *result);`\n\nEquivalent to gettimeofday().\n\n\
         Parameters\n\n| result | Where to store the current time. |\n| more | A second row. |"
    );
    // The part the search found marks its entry as the retrieved section.
    assert!(sections[0].retrieved && !sections[1].retrieved);
}

#[test]
fn a_page_read_in_two_parts_is_never_joined_across_what_was_left_out() {
    // The page's first chunks, then those around the best chunk far down: one section's two
    // ends, which a quote must not run together.
    let chunks = vec![
        chunk("0", "Variables", "`core.bare`\n\nIf true the repository is bare."),
        chunk("1", "Variables", "`core.editor`\n\nThe editor to use."),
        chunk("215", "Variables", "`user.name`\n\n`user.email`"),
        chunk("216", "Variables", "The user name and email recorded with each commit."),
    ];
    let page = PageChunks { chunks: chunks.clone(), resumes_at: Some(2) };
    let sections = Section::of_page(&page, &chunks[2], 0);
    assert_eq!(sections.len(), 2, "{sections:?}");
    assert_eq!(
        sections[1].text,
        "`user.name`\n\n`user.email`\n\nThe user name and email recorded with each commit."
    );
    assert_eq!((sections[0].lead, sections[1].lead), (true, false));
    assert_eq!((sections[0].retrieved, sections[1].retrieved), (false, true));
}

#[test]
fn a_table_split_between_chunks_is_one_table_again() {
    let chunks = vec![
        chunk(
            "1",
            "S",
            "Views:\n\n| View | Shows |\n| --- | --- |\n| pg_stat_activity | the current query |",
        ),
        // The overlap is the previous chunk's last row.
        chunk("2", "S", "| pg_stat_activity | the current query |\n\n| pg_stat_ssl | SSL use |"),
        chunk("3", "S", "| pg_stat_wal | WAL activity |\n\nAfter the table."),
    ];
    let sections = Section::of_page(&read(&chunks), &chunks[1], 0);
    assert_eq!(
        sections[0].text,
        "Views:\n\n| View | Shows |\n| --- | --- |\n| pg_stat_activity | the current query |\n| pg_stat_ssl | SSL use |\n| pg_stat_wal | WAL activity |\n\nAfter the table."
    );
    let tables: Vec<Block> =
        blocks_of(&sections[0].text).into_iter().filter(|b| b.kind == BlockKind::Table).collect();
    assert_eq!(tables.len(), 1, "{tables:?}");
}

#[test]
fn a_code_block_split_between_chunks_is_one_code_block_again() {
    let chunks = vec![
        chunk("1", "S", "Run:\n\n```python\nimport os\nif ready:\n```"),
        chunk("2", "S", "```python\n    os.sync()\n```\n\nThen it is done."),
    ];
    let sections = Section::of_page(&read(&chunks), &chunks[0], 0);
    assert_eq!(
        sections[0].text,
        "Run:\n\n```python\nimport os\nif ready:\n    os.sync()\n```\n\nThen it is done."
    );
    let code: Vec<Block> =
        blocks_of(&sections[0].text).into_iter().filter(|b| b.kind == BlockKind::Code).collect();
    assert_eq!(code.len(), 1, "{code:?}");
    // Another block of another language is not this one's continuation.
    let chunks =
        vec![chunk("1", "S", "```python\nimport os\n```"), chunk("2", "S", "```sh\nls\n```")];
    let sections = Section::of_page(&read(&chunks), &chunks[0], 0);
    assert_eq!(sections[0].text, "```python\nimport os\n```\n\n```sh\nls\n```");
}

#[test]
fn a_section_is_named_without_repeating_the_title() {
    let mut s = section("a", "Manual › Install", "");
    assert_eq!(s.name(), "Manual › Install");
    s.heading = "Install".into();
    assert_eq!(s.name(), "Manual › Install");
    s.heading = "Manual".into();
    assert_eq!(s.name(), "Manual");
    s.title = "FAQ — Harbor documentation".into();
    s.heading = "FAQ › Does Harbor run on Windows?".into();
    assert_eq!(s.name(), "FAQ — Harbor documentation › Does Harbor run on Windows?");
    s.title = "fileinput — Iterate over lines — Python documentation".into();
    s.heading = "`fileinput` — Iterate over lines › Example".into();
    assert_eq!(s.name(), "fileinput — Iterate over lines — Python documentation › Example");
}

#[test]
fn blocks_keep_code_fences_whole() {
    let blocks = blocks_of(
        "Intro:\n\n```sql\nSELECT 1;\n\nSELECT 2;\n```\n\n- one\n- two\n\n| a |\n| --- |",
    );
    let kinds: Vec<BlockKind> = blocks.iter().map(|b| b.kind).collect();
    assert_eq!(kinds, [BlockKind::Prose, BlockKind::Code, BlockKind::List, BlockKind::Table]);
    assert_eq!(blocks[1].text, "```sql\nSELECT 1;\n\nSELECT 2;\n```");
}

#[test]
fn quotes_the_command_a_sentence_introduces() {
    let text = "A partial index is built over a subset of a table. To create a partial index that suits our example, use a command such as:\n\n```sql\nCREATE INDEX orders_unbilled_index ON orders (order_nr)\n    WHERE billed is not true;\n```\n\nA later paragraph about something else entirely, which runs on and on.";
    let terms = WeightedTerms::uniform("How do I create a partial index?");
    let blocks = quote_section(&terms, text, 40, 40 / 3).unwrap();
    assert_eq!(blocks.len(), 2, "{blocks:?}");
    assert!(blocks[0].ends_with("such as:"));
    assert!(blocks[1].contains("WHERE billed is not true;"));
}

#[test]
fn an_introducing_sentence_is_dropped_when_its_block_does_not_fit() {
    let code = format!("```\n{}\n```", "word ".repeat(100));
    let text = format!("The index speeds up reads. Use this:\n\n{code}");
    let terms = WeightedTerms::uniform("index reads");
    let blocks = quote_section(&terms, &text, 20, 20 / 3).unwrap();
    assert_eq!(blocks, ["The index speeds up reads."]);
}

#[test]
fn a_description_is_quoted_with_the_signature_it_describes() {
    let filler = "Unrelated words about other matters here. ".repeat(30);
    let text = format!(
        "{filler}\n\n`str.partition`(sep)\n\nSplit the string at the first occurrence of sep, and return a 3-tuple.\n\n`str.join`(iterable)\n\nReturn a string which is the concatenation of the strings in iterable."
    );
    let terms = WeightedTerms::uniform("split the string at a separator");
    // The quote starts at the description that matches, with the signature before it, shown as
    // code whole; then `str.join(iterable)` fits in the budget and its description does not: the
    // signature is not quoted alone.
    let blocks = quote_section(&terms, &text, 20, 20 / 3).unwrap();
    assert_eq!(
        blocks,
        [
            "`str.partition(sep)`",
            "Split the string at the first occurrence of sep, and return a 3-tuple."
        ]
    );
}

#[test]
fn a_quote_that_opens_with_an_entry_ends_where_the_next_entry_begins() {
    let methods = "`str.join`(iterable)\n\nReturn a string which is the concatenation of the \
        strings in iterable.\n\n`str.ljust`(width)\n\nReturn the string left justified in a \
        string of length width.\n\n`str.lower`()\n\nReturn a copy of the string in lowercase.";
    let terms = WeightedTerms::uniform("What does str.join do?");
    assert_eq!(
        quote_section(&terms, methods, 150, 150 / 3).unwrap(),
        [
            "`str.join(iterable)`",
            "Return a string which is the concatenation of the strings in iterable."
        ]
    );
    // Signatures one after another are one entry (a function's overloads).
    let overloads = "`range`(stop)\n\n`range`(start, stop)\n\nRather than being a function, \
        range is an immutable sequence type.\n\n`reversed`(seq)\n\nReturn a reverse iterator.";
    assert_eq!(
        quote_section(&WeightedTerms::uniform("range"), overloads, 150, 150 / 3).unwrap(),
        [
            "`range(stop)`",
            "`range(start, stop)`",
            "Rather than being a function, range is an immutable sequence type."
        ]
    );
    // A quote that opens with what a module is for goes on into its functions.
    let module = "Assignment statements do not copy objects; this module provides copy \
        operations.\n\n`copy.copy`(x)\n\nReturn a shallow copy of x.\n\n`copy.deepcopy`(x)\n\n\
        Return a deep copy of x.";
    assert_eq!(
        quote_section(&WeightedTerms::uniform("copy objects"), module, 150, 150 / 3).unwrap().len(),
        5
    );
}

#[test]
fn a_question_what_something_is_is_answered_by_its_glossary_entry() {
    let glossary = "asynchronous generator\n\nA function which returns an asynchronous generator \
        iterator.\n\ngenerator\n\nA function which returns a generator iterator. It looks like a \
        normal function except that it contains yield expressions.\n\nUsually refers to a \
        generator function.\n\ngenerator expression\n\nAn expression that returns an iterator.";
    let types = "Python\u{2019}s generators provide a convenient way to implement the iterator \
        protocol, and a generator is one kind of iterator.";
    let sections =
        vec![section("types", "Generator Types", types), section("glossary", "Glossary", glossary)];
    let terms = WeightedTerms::new("What is a generator?", &counts(1000, &[40]));
    let Choice::Quotes(quotes) = choose_quotes(&terms, &sections, &AnswerOptions::default()) else {
        panic!("expected quotes");
    };
    // The entry, from its term to the next term: not the entries around it that also say
    // "generator", and before the section that mentions generators more often.
    assert_eq!(quotes[0].section, 1, "{quotes:?}");
    assert_eq!(
        quotes[0].blocks,
        [
            "generator",
            "A function which returns a generator iterator. It looks like a normal function \
             except that it contains yield expressions.",
            "Usually refers to a generator function."
        ]
    );
    // Two things compared: both entries, each within half the words.
    let compared = WeightedTerms::uniform(
        "What is the difference between generators and generator expressions?",
    );
    assert_eq!(
        quote_section(&compared, glossary, 40, 40 / 3).unwrap(),
        [
            "generator",
            "A function which returns a generator iterator. It looks like a normal function \
             except that it contains yield expressions.",
            "generator expression",
            "An expression that returns an iterator."
        ]
    );
    // An entry that only points to another is read at the other.
    let pointer = format!("{glossary}\n\ngen\n\nSee generator.");
    let short = WeightedTerms::uniform("What is gen?");
    assert_eq!(quote_section(&short, &pointer, 150, 150 / 3).unwrap()[0], "generator");
    let same = WeightedTerms::uniform("gen vs generator");
    assert_eq!(quote_section(&same, &pointer, 150, 150 / 3).unwrap().len(), 3, "one entry, once");
    // An entry with other names on lines of their own is found at any of them, and quoted from
    // its first.
    let names = format!(
        "{glossary}\n\nSee also\n\nbound parameter\n\nbind parameter\n\nbind parameters\n\nA value sent to \
         the database alongside a statement.\n\ncolumn\n\nA vertical slice of a table."
    );
    let bind = WeightedTerms::uniform("What are bind parameters?");
    assert_eq!(
        quote_section(&bind, &names, 150, 150 / 3).unwrap(),
        ["bound parameter", "A value sent to the database alongside a statement."]
    );
    // Asked otherwise, the glossary is quoted as any section is.
    let plain = WeightedTerms::new("generator iterator", &counts(1000, &[40, 60]));
    assert_ne!(quote_section(&plain, glossary, 150, 150 / 3).unwrap()[0], "generator");
}

#[test]
fn a_quote_from_a_glossary_keeps_to_the_entry_that_answers_under_its_term() {
    let entry = |term: &str, text: &str| format!("{term}\n\n{text}");
    let glossary = [
        entry("argument", "A value passed to a function when calling the function."),
        entry("bytecode", "Python source code is compiled into bytecode for the interpreter."),
        entry("hashable", "An object is hashable if it has a hash value which never changes."),
        "Hashability makes an object usable as a dictionary key and a set member.".to_string(),
        entry("IDLE", "An Integrated Development and Learning Environment for Python."),
        entry("immutable", "An object with a fixed value, such as numbers, strings and tuples."),
    ]
    .join("\n\n");
    let terms = WeightedTerms::uniform("Why must dictionary keys be hashable?");
    assert_eq!(
        quote_section(&terms, &glossary, 150, 150 / 3).unwrap(),
        [
            "hashable",
            "An object is hashable if it has a hash value which never changes.",
            "Hashability makes an object usable as a dictionary key and a set member."
        ]
    );
    // A section with a callout or two is no glossary: the quote reads on past "Note".
    let notes = "Keys must be hashable for a dictionary to find them again.\n\nNote\n\n\
        A hash that changes while the key is stored loses the entry.";
    assert_eq!(quote_section(&terms, notes, 150, 150 / 3).unwrap().len(), 2);
}

#[test]
fn a_signature_is_shown_as_code_with_its_parameters() {
    assert_eq!(signature_as_code("str.join(iterable)"), "`str.join(iterable)`");
    assert_eq!(signature_as_code("`fileinput.filename`()"), "`fileinput.filename()`");
    assert_eq!(
        signature_as_code("method `sqlalchemy.orm.Session.merge`(instance, load=True)"),
        "method `sqlalchemy.orm.Session.merge(instance, load=True)`"
    );
    // A name alone, or a placeholder after it, keeps the page's marks.
    assert_eq!(signature_as_code("`itemsize`"), "`itemsize`");
    assert_eq!(signature_as_code("`IN ROLE` role_name"), "`IN ROLE` role_name");
}

#[test]
fn signatures_are_told_from_bare_labels() {
    let signature = |text: &str| Block { kind: BlockKind::Prose, text: text.into() }.is_signature();
    for text in [
        "str.join(iterable)",
        "fileinput.filename()",
        "sys.argv",
        "class dict(**kwargs)",
        "get_object_or_404",
        "`send_mail`(subject, message, from_email, recipient_list)[source]",
        "PyInterpreterState *`PyInterpreterState_New`()",
        "const char *`PyUnicode_AsUTF8`(PyObject *unicode)",
    ] {
        assert!(signature(text), "{text}");
    }
    for text in [
        "See also",
        "Note",
        "Example:",
        "New in version 3.9.",
        "Python 3.11",
        "e.g.",
        "Call `connect`() first, then the rest",
    ] {
        assert!(!signature(text), "{text}");
    }
}

#[test]
fn an_option_asked_about_is_quoted_from_its_entry_to_the_next() {
    let options = "Here is a complete list of the command line options.\n\n\
        `--debug`\n`-d`\n\nEnter parser debugging mode.\n\n\
        `--eval code`\n\nEvaluate code and exit when finished unless --persist is also specified.\n\n\
        `--persist`\n\nGo to interactive mode after --eval or reading from a file.";
    let evaluation = "Sometimes you may find it necessary to evaluate an expression stored in a \
        string, which is exactly what the `eval` function lets you do with code.";
    let sections = vec![
        section("options", "Command Line Options", options),
        section("eval", "Evaluation", evaluation),
    ];
    let terms = WeightedTerms::new("What does the --eval option do?", &counts(1000, &[30, 60]));
    let Choice::Quotes(quotes) = choose_quotes(&terms, &sections, &AnswerOptions::default()) else {
        panic!("expected quotes");
    };
    // Its entry and description, not the other entries that mention it, and no section about
    // the `eval` function, which has no entry for the option.
    assert_eq!(quotes.len(), 1);
    assert_eq!(
        quotes[0].blocks,
        [
            "`--eval code`",
            "Evaluate code and exit when finished unless --persist is also specified."
        ]
    );
    // An entry of several spellings is one signature; a sentence that opens with one is not.
    let entry = |text: &str| Block { kind: BlockKind::Prose, text: text.into() }.is_option_entry();
    assert!(entry("`-c` command\n`--command=`command") && entry("-f, --force"));
    assert!(!entry("`-I` option can be used to run the script in isolated mode."));
}

#[test]
fn a_section_headed_by_the_option_asked_about_is_its_entry() {
    let mut sections = vec![
        section(
            "flags",
            "`process.allowedNodeEnvironmentFlags`",
            "Flags such as --inspect \
            and other options pass through to the process when it is inspected.",
        ),
        section(
            "inspect",
            "Options › `--inspect[=[host:]port]`",
            "Activate inspector on \
            `host:port`. Default is `127.0.0.1:9229`.",
        ),
    ];
    sections[1].page_rank = 1;
    let terms = WeightedTerms::new("What does the --inspect flag do?", &counts(1000, &[20, 60]));
    let Choice::Quotes(quotes) = choose_quotes(&terms, &sections, &AnswerOptions::default()) else {
        panic!("expected quotes");
    };
    assert_eq!(quotes[0].section, 1, "{quotes:?}");
    assert_eq!(quotes.len(), 1, "a section with no entry for it says nothing of it");
}

#[test]
fn the_section_with_the_entry_for_the_option_asked_about_comes_first() {
    // Octave's manual: a plot's description holds every word of "What does the -h option do?"
    // (`h` and "option") in one paragraph, on a page retrieval ranked higher.
    let plots = "The optional return value h is a vector of graphics handles. The option \
        `linestyle` sets how the lines are drawn.";
    let options = "`--help`\n\n`-h`\n\nPrint short help message and exit.\n\n\
        `--interactive`\n\n`-i`\n\nForce interactive behavior.";
    let mut sections =
        vec![section("plots", "Plots", plots), section("options", "Command Line Options", options)];
    sections[1].page_rank = 1;
    let terms = WeightedTerms::new("What does the -h option do?", &counts(1000, &[300, 80]));
    let Choice::Quotes(quotes) = choose_quotes(&terms, &sections, &AnswerOptions::default()) else {
        panic!("expected quotes");
    };
    assert_eq!(quotes[0].section, 1, "{quotes:?}");
    assert_eq!(quotes[0].blocks, ["`--help`", "`-h`", "Print short help message and exit."]);
}

#[test]
fn a_question_that_names_an_api_is_answered_by_its_definition_first() {
    let entry = "Struct std::vec::Vec › Implementations › pub fn push(&mut self, value: T)";
    let sections = vec![
        section(
            "example",
            &format!("{entry} › Examples"),
            "```\nlet mut vec = vec![1, 2];\nvec.push(3);\nassert_eq!(vec, [1, 2, 3]);\n```",
        ),
        section("definition", entry, "Appends an element to the back of a collection."),
    ];
    let terms = WeightedTerms::new("What does Vec::push do?", &counts(1000, &[40, 30]));
    let Choice::Quotes(quotes) = choose_quotes(&terms, &sections, &AnswerOptions::default()) else {
        panic!("expected quotes");
    };
    assert_eq!(quotes[0].section, 1, "the entry that defines it, then its example");
    assert_eq!(quotes[0].blocks, ["Appends an element to the back of a collection."]);
}

#[test]
fn a_name_asked_about_with_other_words_is_quoted_from_its_entry() {
    // git's configuration variables: the question's other word ("put") is in another entry, and
    // the entry for `user.name` lists the names it shares before describing them.
    let variables = "`core.alternateRefsCommand`\n\nNote that you cannot generally put a \
        command here that takes a repository path.\n\n\
        `user.name`\n\n`user.email`\n\n\
        The `user.name` and `user.email` variables determine what ends up in the author field \
        of commit objects.\n\n\
        `user.signingKey`\n\nThe key to sign tags with.";
    let sections = vec![section("variables", "Variables", variables)];
    let terms =
        WeightedTerms::new("What should I put in `user.name`?", &counts(1000, &[40, 300, 400]));
    let Choice::Quotes(quotes) = choose_quotes(&terms, &sections, &AnswerOptions::default()) else {
        panic!("expected quotes");
    };
    assert_eq!(
        quotes[0].blocks,
        [
            "`user.name`",
            "`user.email`",
            "The `user.name` and `user.email` variables determine what ends up in the author \
             field of commit objects."
        ]
    );
    // Its entry is evidence enough without the question's other words ("put").
    let entry = "`user.name`\n\nThe name recorded as the author of each commit.";
    let sections = vec![section("entry", "Variables", entry)];
    assert!(matches!(
        choose_quotes(&terms, &sections, &AnswerOptions::default()),
        Choice::Quotes(_)
    ));
}

#[test]
fn a_passage_two_pages_share_is_quoted_once() {
    // git's manual serves one page as `index.html` and as `git.html`.
    let text = "`GIT_ASKPASS`\n\nGit calls this program to read a password from its output.";
    let sections = vec![
        section("index", "Environment Variables", text),
        section("git", "Environment Variables", text),
    ];
    let terms = WeightedTerms::new(
        "How do I read a password from a program?",
        &counts(1000, &[50, 80, 90]),
    );
    let Choice::Quotes(quotes) = choose_quotes(&terms, &sections, &AnswerOptions::default()) else {
        panic!("expected quotes");
    };
    assert_eq!(quotes.len(), 1, "{quotes:?}");
}

#[test]
fn a_version_history_is_quoted_only_for_a_question_about_releases() {
    // Node.js's manual opens each entry with a collapsed "History" table.
    let text = "| Version | Changes |\n| --- | --- |\n| v15.7.0, v14.18.0 | Introduced base64url \
        encoding of buffers. |\n| v6.4.0 | Introduced latin1 as an alias for binary. |\n\n\
        When converting between buffers and strings, a character encoding may be specified.";
    let sections = vec![section("buffer", "Buffers and character encodings", text)];
    let quoted = |question: &str| match choose_quotes(
        &WeightedTerms::new(question, &counts(1000, &[40, 60, 30])),
        &sections,
        &AnswerOptions::default(),
    ) {
        Choice::Quotes(quotes) => quotes[0].blocks.clone(),
        other => panic!("{other:?}"),
    };
    let answer = quoted("How do I convert a buffer to a string?");
    assert_eq!(
        answer,
        ["When converting between buffers and strings, a character encoding may be specified."]
    );
    assert!(quoted("In which version was base64url encoding added?")[0].starts_with("| Version"));
}

#[test]
fn release_notes_are_quoted_only_for_a_question_about_releases_or_when_nothing_else_answers() {
    // Click's changelog says "boolean flags" and "make" in one entry; the guide's section says
    // how to make one in other words.
    let mut notes = section(
        "changes",
        "Changes › Version 8.0.0",
        "- Help for boolean flags with `show_default=True` shows the flag name. #1538\n- Make \
         the `BOOL` type accept on and off. #1629",
    );
    notes.title = "Changes — Click Documentation".into();
    notes.page_rank = 0;
    let mut guide = section(
        "options",
        "Boolean Flags",
        "Boolean flags are options that can be enabled or disabled with two flags in one go.",
    );
    guide.page_rank = 1;
    let first = |question: &str, sections: &[Section]| match choose_quotes(
        &WeightedTerms::new(question, &counts(1000, &[40, 20, 30])),
        sections,
        &AnswerOptions::default(),
    ) {
        Choice::Quotes(quotes) => sections[quotes[0].section].url.clone(),
        other => panic!("{other:?}"),
    };
    let both = [notes.clone(), guide];
    assert_eq!(first("How do I make a boolean flag?", &both), "options");
    assert_eq!(first("Boolean flags in which release?", &both), "changes");
    assert_eq!(first("How do I make a boolean flag?", &[notes]), "changes");
}

#[test]
fn asked_what_something_is_the_section_that_opens_by_saying_it_is_quoted_from_its_opening() {
    // Every page names the product; the tutorial's opening says what it is.
    let mut options = section(
        "configure",
        "Configure Python › General Options",
        "Python options for the build.\n\nList all of Python's configure options with --help.",
    );
    options.page_rank = 0;
    let mut tutorial = section(
        "tutorial",
        "The Python Tutorial",
        "Python is an easy to learn, powerful programming language. It has efficient \
         high-level data structures.\n\nThe Python interpreter is easily extended.",
    );
    tutorial.page_rank = 1;
    let terms = WeightedTerms::new("What is Python?", &counts(1000, &[900]));
    let Choice::Quotes(quotes) =
        choose_quotes(&terms, &[options, tutorial], &AnswerOptions::default())
    else {
        panic!("no answer");
    };
    assert_eq!(quotes[0].section, 1);
    assert!(quotes[0].blocks[0].starts_with("Python is an easy to learn"), "{quotes:?}");
}

#[test]
fn quotes_whole_sentences_within_the_budget() {
    let text = "The server listens on port 8080. It can be changed with a flag. Logs go to stderr by default and rotate daily.";
    let terms = WeightedTerms::uniform("server port");
    let blocks = quote_section(&terms, text, 14, 14 / 3).unwrap();
    assert_eq!(blocks, ["The server listens on port 8080. It can be changed with a flag."]);
    // One sentence is quoted whole even when it alone is over the budget.
    let blocks = quote_section(&terms, text, 3, 3 / 3).unwrap();
    assert_eq!(blocks, ["The server listens on port 8080."]);
}

#[test]
fn starts_at_the_matching_block_of_a_long_section() {
    let filler = "Unrelated words about other matters here. ".repeat(30);
    let text =
        format!("{filler}\n\nThe vacuum command reclaims storage.\n\nMore text follows here.");
    let terms = WeightedTerms::uniform("vacuum storage");
    let blocks = quote_section(&terms, &text, 50, 50 / 3).unwrap();
    assert_eq!(blocks[0], "The vacuum command reclaims storage.");
}

#[test]
fn footnote_marks_are_not_quoted_as_citations() {
    assert_eq!(without_note_marks("each value. [7] Basically"), "each value. Basically");
    assert_eq!(without_note_marks("see [2](x) and a[i]"), "see [2](x) and a[i]");
}

#[test]
fn identifiers_match_by_their_parts() {
    let terms = WeightedTerms::uniform("auto increment column");
    assert_eq!(terms.coverage("the AUTO_INCREMENT property of a column"), 1.0);
    // A name with underscores around it, as the question writes it.
    let dunder = WeightedTerms::uniform("How do I use __slots__?");
    assert_eq!(dunder.coverage("`__slots__` allow us to declare data members explicitly."), 1.0);
    assert_eq!(dunder.coverage("Time slots are booked here."), 0.0);
}

#[test]
fn link_lists_and_bare_labels_are_not_quoted() {
    assert!(link_share("- [Install](a)\n- [Configure](b)") > 0.8);
    assert!(link_share("See [the install guide](a) for how to build it from its sources.") < 0.5);
    let text = "- [Partial indexes](a)\n- [Index types](b)\n\nSee also";
    assert_eq!(quote_section(&WeightedTerms::uniform("partial index"), text, 100, 100 / 3), None);
}

#[test]
fn chooses_the_section_that_carries_the_question() {
    let sections = vec![
        section("a", "Index Types", "PostgreSQL provides several index types."),
        section(
            "b",
            "Partial Indexes",
            "A partial index is an index built over a subset of a table.",
        ),
    ];
    let terms = WeightedTerms::new("What is a partial index?", &counts(1000, &[10, 400]));
    let Choice::Quotes(quotes) = choose_quotes(&terms, &sections, &AnswerOptions::default()) else {
        panic!("expected quotes");
    };
    assert_eq!(quotes[0].section, 1);
    // The first section lacks the rare word: it is not quoted at all.
    assert_eq!(quotes.len(), 1);
}

#[test]
fn words_no_page_contains_are_names_the_pages_lack_or_phrasing_they_do_not_use() {
    assert_eq!(
        names_in("How do I configure a Kubernetes ingress? Kubernetes here."),
        ["kubernetes"]
    );
    assert_eq!(names_in("Does Django support NoSQL databases?"), ["django", "nosql"]);
    assert_eq!(names_in("Is the iPhone app out?"), ["iphone"]);
    assert!(names_in("Which systems does it run on besides those?").is_empty());
    // A tool or a list named after a product is a name by its first part only.
    assert_eq!(names_in("command not found: django-admin"), ["django"]);
    assert_eq!(names_in("Why hasn't my message appeared on django-users?"), ["django"]);
    assert!(names_in("Can I write obfuscated one-liners or pre-existing non-blocking sockets?")
        .is_empty());
    let tool = WeightedTerms::new("command not found: django-admin", &counts(20, &[3, 9, 5, 0, 2]));
    assert_eq!(tool.unknown_names(), ["django"]);
    // "work" is in no chunk: left out, so the section that has the rest answers.
    let terms = WeightedTerms::new("Harbor on windows, does it work?", &counts(20, &[20, 1, 0]));
    assert!(terms.unknown_names().is_empty());
    assert_eq!(terms.coverage("Harbor runs on Windows inside WSL2."), 1.0);
    // A question made only of words no chunk contains covers nothing.
    let nothing = WeightedTerms::new("xylophone quantum marmalade", &counts(20, &[0, 0, 0]));
    assert_eq!(nothing.coverage("xylophone quantum marmalade"), 0.0);
}

#[test]
fn says_it_found_nothing_when_the_rare_words_are_missing() {
    let sections = vec![section("a", "Passwords", "Reset a role's password with ALTER ROLE.")];
    // "iphone" is in no chunk.
    let terms =
        WeightedTerms::new("How do I reset my iPhone password?", &counts(1000, &[40, 0, 30]));
    assert!(matches!(
        choose_quotes(&terms, &sections, &AnswerOptions::default()),
        Choice::NotFound { .. }
    ));
    let text = render_not_found(&sections);
    assert!(text.starts_with(NOTHING_FOUND));
    assert!(text.contains("[Manual › Passwords](a)"), "{text}");
    assert!(matches!(
        choose_quotes(&terms, &[], &AnswerOptions::default()),
        Choice::NotFound { evidence } if evidence == 0.0
    ));
}

#[test]
fn says_it_found_nothing_when_only_words_every_page_has_are_left() {
    let sections = vec![section("a", "Django at a glance", "Django makes web development easy.")];
    // "cite" is in no chunk, "django" in every one (it is in every page title).
    let cite = WeightedTerms::new("How do I cite Django?", &counts(1000, &[0, 1000]));
    assert!(cite.nothing_specific_left());
    assert!(matches!(
        choose_quotes(&cite, &sections, &AnswerOptions::default()),
        Choice::NotFound { .. }
    ));
    // Asked about the product itself, nothing was left out: the pages answer.
    let what = WeightedTerms::new("What is Django?", &counts(1000, &[1000]));
    assert!(!what.nothing_specific_left());
    assert!(matches!(
        choose_quotes(&what, &sections, &AnswerOptions::default()),
        Choice::Quotes(_)
    ));
    // One word left that only some chunks have still says what is asked.
    let windows = WeightedTerms::new("Harbor on windows, does it work?", &counts(20, &[20, 1, 0]));
    assert!(!windows.nothing_specific_left());
}

#[test]
fn navigation_pages_are_never_quoted() {
    let mut toc =
        section("toc", "Contents", "Partial indexes and more about partial index building here.");
    toc.page.link_list_percent = 90;
    let terms = WeightedTerms::uniform("partial index");
    assert!(matches!(
        choose_quotes(&terms, &[toc], &AnswerOptions::default()),
        Choice::NotFound { .. }
    ));
}

#[test]
fn pages_keep_their_order_and_show_their_quoted_sections() {
    let mut sections = vec![
        section("p0-a", "A", "x"),
        section("p0-b", "B", "x"),
        section("p1-a", "C", "x"),
        section("p2-a", "D", "x"),
    ];
    sections[0].retrieved = true;
    sections[1].retrieved = false;
    (sections[2].page_rank, sections[3].page_rank) = (1, 2);
    let quotes = vec![Quote { section: 3, blocks: vec![] }, Quote { section: 1, blocks: vec![] }];
    let (shown, quotes) = shown_sections(sections, quotes);
    let urls: Vec<&str> = shown.iter().map(|s| s.url.as_str()).collect();
    // Page 0 is shown by its quoted section, not by its retrieved one.
    assert_eq!(urls, ["p0-b", "p1-a", "p2-a"]);
    assert_eq!(quotes.iter().map(|q| q.section).collect::<Vec<_>>(), [2, 0]);
}

#[test]
fn renders_quotes_under_their_section_with_citations() {
    let sections = vec![section("z", "Other", ""), section("a", "Partial Indexes", "")];
    let quotes = vec![Quote {
        section: 1,
        blocks: vec![
            "Use a command such as:".into(),
            "```sql\nCREATE INDEX i ON t (c) WHERE c;\n```".into(),
        ],
    }];
    let text = render_quotes(EXTRACTIVE_NOTICE, &sections, &quotes);
    assert_eq!(
        text,
        format!("{EXTRACTIVE_NOTICE}\n\n**Manual › Partial Indexes** [2]\n> Use a command such as:\n>\n> ```sql\n> CREATE INDEX i ON t (c) WHERE c;\n> ```")
    );
}

#[test]
fn a_quote_from_a_sections_start_leaves_out_the_notes_that_head_it() {
    let page =
        "New in version 3.2.\n\nSource code: Lib/argparse.py\n\nThe argparse module makes it \
        easy to write user-friendly command-line interfaces and parses arguments from sys.argv.\n\n\
        It also generates help and usage messages.";
    let terms = WeightedTerms::uniform("How do I parse command-line arguments?");
    let quoted = quote_section(&terms, page, 150, 150 / 3).unwrap();
    assert!(quoted[0].starts_with("The argparse module"), "{quoted:?}");
    assert_eq!(quoted.len(), 2);
    // A short line that says something asked, or introduces what follows, is no aside.
    let asked = format!("Arguments are parsed on demand.\n\n{page}");
    assert_eq!(
        quote_section(&terms, &asked, 150, 150 / 3).unwrap()[0],
        "Arguments are parsed on demand."
    );
    let example = "New in version 3.2.\n\nYou can call it like this:\n\n```\nparser.parse_args()\n\
        ```\n\nThat parses the command-line arguments.";
    let quoted = quote_section(&terms, example, 150, 150 / 3).unwrap();
    assert_eq!(quoted[0], "You can call it like this:", "{quoted:?}");
    let deprecated = format!("Deprecated since version 3.12.\n\n{page}");
    let quoted = quote_section(&terms, &deprecated, 150, 150 / 3).unwrap();
    assert_eq!(quoted[0], "Deprecated since version 3.12.", "{quoted:?}");
}

#[test]
fn the_section_that_compares_what_is_asked_is_quoted_from_its_opening() {
    let question = "What is the difference between Any and object?";
    let asked = WeightedTerms::words(question).len();
    let terms = WeightedTerms::new(question, &counts(1000, &vec![50; asked]));
    let filler =
        "Any other value is accepted there as well, and checked as it is declared. ".repeat(5);
    let compared = format!(
        "The type `object` is another type that can have an instance of arbitrary type as a \
         value. Unlike `Any`, `object` is an ordinary static type.\n\n{filler}\n\nYou can use \
         different narrowing techniques to narrow `object` to a more specific type; there is no \
         difference for a value of type `Any`, which needs none."
    );
    let other = "The difference between a class object and an instance object is where the \
        attribute is stored.";
    let sections = vec![
        section("classes", "Class basics › Instance variables", other),
        section("dynamic", "Dynamically typed code › Any vs. object", &compared),
    ];
    let Choice::Quotes(quotes) = choose_quotes(&terms, &sections, &AnswerOptions::default()) else {
        panic!("expected quotes");
    };
    assert_eq!(quotes[0].section, 1, "{quotes:?}");
    assert!(quotes[0].blocks[0].starts_with("The type `object` is another type"), "{quotes:?}");
}

#[test]
fn a_section_whose_heading_names_the_question_is_quoted_from_its_start() {
    // aiohttp's "Make a Request" opens with the GET example; the sentence that holds most of the
    // question's words comes later and is about POST.
    let text = "Begin by importing the module and the event loop library, which every example on \
        this page needs before it can run anything at all:\n\n```\nimport aiohttp\nimport \
        asyncio\n```\n\nNow try to fetch a web page. The session opens a connection pool, the \
        response is read as text, and the status code and body are printed once the whole body \
        has arrived from the server, which may take a while on a slow network:\n\n```\nasync \
        with session.get(url) as resp:\n    print(await resp.text())\n```\n\nIn order to make \
        an HTTP POST request use the post coroutine of the session.";
    let quoted = |heading: &str| {
        let sections = [section("quickstart", heading, text)];
        let terms =
            WeightedTerms::new("How do I make a GET request?", &counts(1000, &[50, 60, 40]));
        match choose_quotes(&terms, &sections, &AnswerOptions::default()) {
            Choice::Quotes(quotes) => quotes[0].blocks[0].clone(),
            other => panic!("{other:?}"),
        }
    };
    assert!(quoted("Client Quickstart › Make a Request").starts_with("Begin by importing"));
    assert!(quoted("Client Quickstart › Examples").starts_with("In order to make"));
    // An opening that would take the room of what answers is passed over (PostgreSQL's "Partial
    // Indexes" opens with two paragraphs of why, then the command).
    let why =
        "Indexes speed up reads and slow down writes, and a table can hold a great many rows \
        that no query looks for, so it pays to think about which rows an index should cover. ";
    let long = format!(
        "{}\n\nTo create a partial index use this command:\n\n```\nCREATE \
        INDEX i ON t (c) WHERE NOT done;\n```",
        why.repeat(4)
    );
    let sections = [section("partial", "Indexes › Partial Indexes", &long)];
    let terms = WeightedTerms::uniform("How do I create a partial index?");
    let Choice::Quotes(quotes) = choose_quotes(&terms, &sections, &AnswerOptions::default()) else {
        panic!()
    };
    assert!(quotes[0].blocks[0].starts_with("To create a partial index"), "{quotes:?}");
}

#[test]
fn a_front_page_of_links_is_quoted_for_the_opening_that_says_what_the_project_is() {
    let mut front = section(
        "index",
        "peewee",
        "Peewee is a simple and small ORM. It has few concepts, making it easy to learn.\n\nNew \
         to peewee? These may help:\n\n- Quickstart\n- Example app\n- Using Peewee Interactively",
    );
    front.page.link_list_percent = 87;
    let quoted = |question: &str| {
        let terms = WeightedTerms::uniform(question);
        match choose_quotes(&terms, std::slice::from_ref(&front), &AnswerOptions::default()) {
            Choice::Quotes(quotes) => quotes[0].blocks.clone(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        quoted("What is peewee?"),
        ["Peewee is a simple and small ORM. It has few concepts, making it easy to learn."]
    );
    // Asked anything else, a page of links is not quoted.
    let terms = WeightedTerms::uniform("How do I use peewee interactively?");
    assert!(matches!(
        choose_quotes(&terms, &[front.clone()], &AnswerOptions::default()),
        Choice::NotFound { .. }
    ));
}

#[test]
fn a_section_is_quoted_without_the_epigraph_it_opens_with() {
    let sections = [section(
        "serializers",
        "Serializers",
        "Expanding the usefulness of the serializers is something that we would like to \
         address.\n\n— Russell Keith-Magee, Django users group\n\nSerializers allow complex data \
         such as querysets to be converted to native Python datatypes.",
    )];
    let terms = WeightedTerms::uniform("What is a serializer?");
    let Choice::Quotes(quotes) = choose_quotes(&terms, &sections, &AnswerOptions::default()) else {
        panic!()
    };
    assert_eq!(
        quotes[0].blocks,
        ["Serializers allow complex data such as querysets to be converted to native Python \
          datatypes."]
    );
}

#[test]
fn a_pasted_error_message_is_answered_by_the_section_that_quotes_it() {
    let reference = section(
        "fields",
        "Field types › `DateTimeField`",
        "class `DateTimeField(auto_now=False, **options)`\n\nA date and time, represented in \
         Python by a `datetime.datetime` instance.",
    );
    let faq = section(
        "timezones",
        "FAQ › Troubleshooting",
        "1. My application crashes.\n\nUpgrade it.\n\n2. I see lots of `RuntimeWarning: \
         DateTimeField received a naive datetime` `(YYYY-MM-DD HH:MM:SS)` `while time zone \
         support is active` – is that bad?\n\nWhen time zone support is enabled, the database \
         layer expects to receive only aware datetimes from your code.",
    );
    let terms = WeightedTerms::uniform(
        "RuntimeWarning: DateTimeField received a naive datetime while time zone support is active",
    );
    let Choice::Quotes(quotes) =
        choose_quotes(&terms, &[reference, faq], &AnswerOptions::default())
    else {
        panic!()
    };
    assert_eq!(quotes[0].section, 1, "{quotes:?}");
    assert!(quotes[0].blocks[0].starts_with("2. I see lots of"), "{quotes:?}");
}

#[test]
fn a_quote_that_opens_with_a_faqs_question_ends_at_the_next_question() {
    let faq = |second: &str| {
        section(
            "faq",
            "FAQ › Troubleshooting",
            &format!(
                "1. Why does my application crash on start?\n\nUpgrade it to the latest \
                 release.\n\n{second}\n\nNo, it is kept on disk."
            ),
        )
    };
    let terms = WeightedTerms::uniform("Why does my application crash on start?");
    let quoted =
        |second: &str| match choose_quotes(&terms, &[faq(second)], &AnswerOptions::default()) {
            Choice::Quotes(quotes) => quotes[0].blocks.clone(),
            other => panic!("{other:?}"),
        };
    let first_entry =
        ["1. Why does my application crash on start?", "Upgrade it to the latest release."];
    assert_eq!(quoted("2. Is my data lost?"), first_entry);
    // A numbered entry need not ask.
    assert_eq!(quoted("2. My data is gone! (or half of it)"), first_entry);
    // A list of steps is no FAQ: it is quoted on.
    assert_eq!(quoted("2. Restart the server.").len(), 4);
}

#[test]
fn a_section_without_the_thing_asked_about_comes_after_one_with_it() {
    // pytest's manual: a section on skip markers shares them "between modules" of test files,
    // and holds more of the question's rarer words than the section that answers it.
    let sections = vec![
        section(
            "skipping",
            "Skipping test functions › `skipif`",
            "You can share `skipif` markers between test files and modules: import the marker \
             and reuse it in another test file.",
        ),
        section(
            "conftest",
            "`conftest.py`: sharing fixtures across multiple files",
            "The `conftest.py` file provides fixtures for an entire directory.",
        ),
    ];
    // share, fixture, between, test, files
    let per_term = [10, 300, 10, 400, 100];
    assert_eq!(
        quoted_first("How do I share a fixture between test files?", &per_term, &sections),
        1
    );
    // Without the article the question names no thing, and the rarer words decide.
    assert_eq!(
        quoted_first("How do I share fixtures between test files?", &per_term, &sections),
        0
    );
}

#[test]
fn the_best_section_is_quoted_though_a_rare_word_of_the_question_is_not_in_it() {
    // Flask's tutorial: "fresh" is in one chunk of the manual, a response header's entry, and
    // outweighs the rest of the question; the section that answers says "new".
    let mut sections = vec![
        section(
            "tests",
            "Test Coverage › Setup and Fixtures",
            "The test creates a new temporary database file and fills it with data.",
        ),
        section(
            "vary",
            "API › Response Objects",
            "Each request-header field decides, while the response is fresh, whether a cache \
             may use it.",
        ),
    ];
    sections[1].page_rank = 4;
    sections[1].retrieved = false;
    let question = "How do I use a fresh database for each test?";
    // fresh, database, each, test
    let per_term = [1, 60, 200, 100];
    assert_eq!(quoted_first(question, &per_term, &sections), 0);
    // With too little of the question anywhere, nothing is quoted.
    let terms = WeightedTerms::new(question, &counts(1000, &per_term));
    let options = AnswerOptions { min_evidence: 0.7, ..AnswerOptions::default() };
    assert!(matches!(choose_quotes(&terms, &sections, &options), Choice::NotFound { .. }));
}
