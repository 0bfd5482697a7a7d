import { render } from "preact";
import "../../lib/ui/base.css";
import "./popup.css";
import { App } from "./App";

render(<App />, document.getElementById("app") as HTMLElement);
